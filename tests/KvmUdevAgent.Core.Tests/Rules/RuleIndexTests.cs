using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed class RuleIndexTests
{
    private static Gen<T> Pick<T>(params T[] items) => Gen.Int[0, items.Length - 1].Select(i => items[i]);

    private static readonly Gen<string?> s_subsystem = Pick<string?>(null, "usb", "block", "usb|block", "!usb", "*", "b*");
    private static readonly Gen<string?> s_serial = Pick<string?>(null, "S1", "S2", "S1|S2", "!S1", "S*", "");
    private static readonly Gen<string?> s_vendor = Pick<string?>(null, "058f", "abcd", "058f|abcd", "!058f", "05*");
    private static readonly Gen<string?> s_action = Pick<string?>(null, null, "add", "remove", "add|change");
    private static readonly Gen<string> s_do = Pick("attach: { vm: winxp }", "mount: { path: x }", "hook: { run: [/bin/true] }");

    private static readonly Gen<string> s_rule =
        from subsystem in s_subsystem
        from serial in s_serial
        from vendor in s_vendor
        from action in s_action
        from final in Gen.Int[0, 5]
        from doing in s_do
        select Rule(subsystem, serial, vendor, action, final == 0, doing);

    private static readonly Gen<(string Subsystem, string? Serial, ushort? Vendor, string Action)> s_event =
        from subsystem in Pick("usb", "block", "net")
        from serial in Pick<string?>("S1", "S2", "S3", null, "")
        from vendor in Pick<ushort?>(0x058f, 0xabcd, 0x1234, null)
        from action in Pick("add", "remove", "bind", "change")
        select (subsystem, serial, vendor, action);

    private static string Rule(string? subsystem, string? serial, string? vendor, string? action, bool final, string doing)
    {
        var match = new List<string>();
        if (subsystem is not null)
        {
            match.Add($"subsystem: \"{subsystem}\"");
        }

        if (serial is not null)
        {
            match.Add($"serial: \"{serial}\"");
        }

        if (vendor is not null)
        {
            match.Add($"vendor: \"{vendor}\"");
        }

        if (action is not null)
        {
            match.Add($"action: \"{action}\"");
        }

        return $"    match: {{ {string.Join(", ", match)} }}\n    final: {(final ? "true" : "false")}\n    {doing}\n";
    }

    [Fact]
    public void Match_WithIndex_EqualsLinearScan()
    {
        Gen.Select(s_rule.Array[1, 40], s_event.Array[1, 8]).Sample((rules, events) =>
        {
            var yaml = new StringBuilder("rules:\n");
            for (int i = 0; i < rules.Length; i++)
            {
                yaml.Append("  - name: r").Append(i).Append('\n').Append(rules[i]);
            }

            RuleSet set = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([("p.yaml", yaml.ToString())], 1).RuleSet
                ?? throw new InvalidOperationException(yaml.ToString());
            foreach (var e in events)
            {
                var properties = new List<KeyValuePair<string, string>> { new("ACTION", e.Action), new("DEVPATH", "/devices/x/y"), new("SUBSYSTEM", e.Subsystem) };
                var view = new DeviceView(Uevent.Create(UeventSource.Udev, properties),
                    new DeviceIdentity { Serial = e.Serial, Vendor = e.Vendor is { } v ? new UsbId(v) : null }, null);
                var indexed = new RuleMatch[set.Rules.Count];
                var linear = new RuleMatch[set.Rules.Count];
                int n = set.Match(view, indexed);
                int m = set.MatchLinear(view, linear);
                if (n != m || !indexed.AsSpan(0, n).SequenceEqual(linear.AsSpan(0, m)))
                {
                    return false;
                }
            }

            return true;
        }, iter: 3000);
    }
}
