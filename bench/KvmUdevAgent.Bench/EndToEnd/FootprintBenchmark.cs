using System.Globalization;
using System.Text;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// Item 4: the NativeAOT daemon exec'd directly (no shell, no unshare) with 100 rules, 2 VMs (two
/// paused QEMUs on QMP), audit to a private rsyslogd, and a fixture tree with the seed's drive and
/// its twin present. Start-to-ready = fork+exec → READY=1 on the harness's NOTIFY_SOCKET; idle RSS =
/// VmRSS once coldplug is done, both VMs are reconciled (the seed drive is in winxp) and 2 s have passed.
/// Each run starts from an empty state file and a clean QEMU.
/// </summary>
internal static class FootprintBenchmark
{
    public static async Task RunAsync(string agentBinary, int runs, Report report)
    {
        Console.WriteLine($"== footprint: {runs} starts, load {ProcStatus.LoadAverage()}");
        using QemuProcess winxp = await QemuProcess.StartAsync(new QemuOptions());
        using QemuProcess centos = await QemuProcess.StartAsync(new QemuOptions());
        using var sysfs = new SysfsFixture();
        sysfs.AddSeedFlashDrive();
        sysfs.AddTwinFlashDrive();
        await using BenchWorkspace ws = await BenchWorkspace.CreateAsync(syslog: true);
        ws.WriteRules(Rules());
        ws.WriteConfig("udev", sysfs.Root, new Dictionary<string, string> { ["winxp"] = winxp.QmpSocket!, ["centos"] = centos.QmpSocket! });
        await using HarnessQmp qmp = await HarnessQmp.ConnectAsync(winxp);

        var ready = new List<double>();
        var rss = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            string state = Path.Combine(ws.Work, "state");
            if (Directory.Exists(state))
            {
                Directory.Delete(state, recursive: true);
            }

            await using (BenchDaemon daemon = BenchDaemon.StartDirect(agentBinary, ws.ConfigPath, ws.Work))
            {
                TimeSpan readyAfter = await daemon.WaitReadyAsync();
                await daemon.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
                await daemon.WaitForLogAsync("VM centos reconciled", TimeSpan.FromSeconds(20));
                if (await qmp.PollUntilAsync("kua-u", n => n.Count == 1, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10)) is null)
                {
                    throw new InvalidOperationException("the seed drive was not attached to winxp after coldplug\n" + daemon.Log);
                }

                await Task.Delay(TimeSpan.FromSeconds(2));
                long kib = daemon.RssKiB();
                Console.WriteLine($"  run {run + 1}: ready after {Stats.F(readyAfter.TotalMilliseconds, "F1")} ms, idle VmRSS {Stats.F(kib / 1024.0)} MiB ({ProcStatus.RssSplit(daemon.Pid)})");
                if (run == 0)
                {
                    Console.WriteLine("    resident by mapping (MiB): " + string.Join(", ", ProcStatus.TopMappings(daemon.Pid, 8)));
                    // Profiling aid: KUA_BENCH_SMAPS=DIR keeps the first run's smaps, status and thread names there.
                    if (Environment.GetEnvironmentVariable("KUA_BENCH_SMAPS") is { Length: > 0 } dump)
                    {
                        ProcStatus.Dump(daemon.Pid, dump);
                    }
                }

                ready.Add(readyAfter.TotalMilliseconds);
                rss.Add(kib / 1024.0);
            }

            foreach (string id in await qmp.PeripheralsAsync("kua-"))
            {
                await qmp.DeviceDelAsync(id);
            }
        }

        double r = Stats.Median(ready), m = Stats.Median(rss);
        string udevd = report.UdevdIdleRssKiB is { } k ? Stats.F(k / 1024.0) + " (systemd-udevd 252, idle, no rules but ours)" : "not measured (run the latency section)";
        report.Row("Idle RSS after coldplug, 100 rules, 2 VMs (MiB)", Stats.Spread(rss, "F2"), udevd, report.UdevdIdleRssKiB is { } u ? Stats.F(m / (u / 1024.0), "F1") + "×" : "-", "≤ 12", m <= 12);
        report.Row("Start → READY=1 (ms)", Stats.Spread(ready, "F1"), "-", "-", "≤ 50", r <= 50);
    }

    private static string Rules()
    {
        var yaml = new StringBuilder("""
            rules:
              - name: flash-to-winxp
                match:
                  subsystem: usb
                  devtype: usb_device
                  vendor: "058f"
                  product: "6387"
                  serial: "576B63C4"
                  interfaces: ["08:*:*"]
                attach:
                  vm: winxp

            """);
        for (int i = 1; i < 100; i++)
        {
            yaml.Append("  - name: rule-").Append(i.ToString(CultureInfo.InvariantCulture)).Append('\n');
            yaml.Append("    match:\n      subsystem: usb\n      devtype: usb_device\n      vendor: \"")
                .Append((0x2000 + i).ToString("x4", CultureInfo.InvariantCulture)).Append("\"\n      serial: \"X").Append(i.ToString(CultureInfo.InvariantCulture)).Append("*\"\n");
            yaml.Append(i % 2 == 0 ? "    attach:\n      vm: winxp\n" : "    attach:\n      vm: centos\n");
        }

        return yaml.ToString();
    }
}
