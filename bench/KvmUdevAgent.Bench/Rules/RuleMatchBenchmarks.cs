using System.Globalization;
using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Bench.Rules;

/// <summary>
/// Matching cost per event against N rules: the USB add of the seed's flash drive (one rule at the
/// end matches) and an unrelated block event (nothing matches). Target: 1 µs at 100 rules, 0 B.
/// </summary>
[MemoryDiagnoser]
public class RuleMatchBenchmarks
{
    private RuleSet _rules = RuleSet.Empty;
    private DeviceView _usb = null!;
    private DeviceView _block = null!;
    private RuleMatch[] _results = [];

    [Params(10, 100, 1000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var text = new System.Text.StringBuilder("rules:\n");
        for (int i = 0; i < Rules - 1; i++)
        {
            // Realistic variety: vendor/product/serial rules, label globs, props and alternatives.
            switch (i % 4)
            {
                case 0:
                    text.Append(CultureInfo.InvariantCulture, $"  - name: r{i}\n    match: {{ subsystem: usb, devtype: usb_device, vendor: \"{i % 9000 + 1000:x4}\", product: \"{i:x4}\", serial: \"S{i}\" }}\n    attach: {{ vm: winxp }}\n");
                    break;
                case 1:
                    text.Append(CultureInfo.InvariantCulture, $"  - name: r{i}\n    match: {{ subsystem: block, fs_label: \"BACKUP{i}*\" }}\n    mount: {{ path: \"{{fs_label}}\" }}\n");
                    break;
                case 2:
                    text.Append(CultureInfo.InvariantCulture, $"  - name: r{i}\n    match: {{ subsystem: \"usb|block\", serial: \"X{i}|Y{i}\", props: {{ ID_BUS: usb }} }}\n    hook: {{ run: [/bin/true] }}\n");
                    break;
                default:
                    text.Append(CultureInfo.InvariantCulture, $"  - name: r{i}\n    match: {{ kernel: \"sd[a-z]{i}\", interfaces: [\"08:*:*\"] }}\n    hook: {{ run: [/bin/true] }}\n");
                    break;
            }
        }

        text.Append("  - name: seed\n    match: { subsystem: usb, devtype: usb_device, vendor: \"058f\", product: \"6387\", serial: \"576B63C4\", interfaces: [\"08:*:*\"] }\n    attach: { vm: winxp }\n");
        var result = new RuleSetLoader(null, null).LoadTexts([("bench.yaml", text.ToString())], 1);
        _rules = result.RuleSet ?? throw new InvalidOperationException(string.Join('\n', result.Diagnostics));
        _results = new RuleMatch[_rules.Rules.Count];
        _usb = View(
            [("ACTION", "add"), ("DEVPATH", "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1.4"), ("SUBSYSTEM", "usb"), ("DEVTYPE", "usb_device"), ("ID_BUS", "usb")],
            new DeviceIdentity { Vendor = new UsbId(0x058f), Product = new UsbId(0x6387), Serial = "576B63C4", Interfaces = ["08:06:50"] });
        _block = View(
            [("ACTION", "add"), ("DEVPATH", "/devices/virtual/block/loop3"), ("SUBSYSTEM", "block"), ("DEVTYPE", "disk")],
            new DeviceIdentity { FsLabel = "DATA", FsType = "ext4" });
    }

    private static DeviceView View((string, string)[] properties, DeviceIdentity identity) =>
        new(Uevent.Create(UeventSource.Udev, properties.Select(p => new KeyValuePair<string, string>(p.Item1, p.Item2))), identity, null);

    [Benchmark(Description = "match: seed drive (last rule matches)")]
    public int MatchUsb() => _rules.Match(_usb, _results);

    [Benchmark(Description = "match: unrelated block device (no match)")]
    public int MatchBlock() => _rules.Match(_block, _results);

    [Benchmark(Description = "plan: seed drive (match + build plan)")]
    public int PlanUsb() => _rules.Evaluate(_usb).Actions.Length;
}
