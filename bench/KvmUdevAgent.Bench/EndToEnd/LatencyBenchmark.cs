using System.Diagnostics;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// Item 1: a real kernel uevent (synthetic, on a loop device, with a per-run token) → the device
/// present in a paused TCG QEMU, seen through the harness's own QMP connection (qom-list polled back
/// to back from just before the write to the uevent file). The agent (rule: props SYNTH_ARG_RUNID,
/// attach as usb-storage, read-only) and the seed's way (udevd + RUN+= script + socat to the VM's
/// HMP socket: drive_add + device_add usb-storage, read-only) take turns on the same QEMU, each on
/// its own loop device, one event at a time; each device is removed before the next event.
/// </summary>
internal static class LatencyBenchmark
{
    private const uint PollPauseMicroseconds = 250;
    private static readonly TimeSpan s_lostAfter = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(string agentBinary, int events, int sleepEvents, Report report)
    {
        Console.WriteLine($"== latency: {events} events each, alternating agent / udevd+script, load {ProcStatus.LoadAverage()}");
        string token = "kua" + Guid.NewGuid().ToString("N")[..10];
        string agentToken = token + "a";
        string udevToken = token + "u";
        string sleepToken = token + "s";

        await using LoopDevice agentLoop = await LoopDevice.CreateAsync();
        await using LoopDevice udevLoop = await LoopDevice.CreateAsync();
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { HmpUnix = true });
        string scripts = Directory.CreateTempSubdirectory("kua-bench-scripts-").FullName;
        try
        {
            // The seed's script without its sleep 3 (and with it), modernised: usb_add is gone, so
            // drive_add + device_add usb-storage, the same read-only attach the agent makes.
            string attach = Path.Combine(scripts, "udev-VM.sh");
            string attachSleep = Path.Combine(scripts, "udev-VM-sleep.sh");
            const string Body = "printf 'drive_add 0 if=none,id=udd%s,file=/dev/%s,format=raw,readonly=on\\ndevice_add usb-storage,id=udv%s,drive=udd%s\\n' \"$2\" \"$1\" \"$2\" \"$2\" | socat - UNIX-CONNECT:";
            File.WriteAllText(attach, "#!/bin/sh\n" + Body + qemu.HmpSocket + "\n");
            File.WriteAllText(attachSleep, "#!/bin/sh\nsleep 3\n" + Body + qemu.HmpSocket + "\n");
            File.SetUnixFileMode(attach, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(attachSleep, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            string udevRules =
                $"ACTION==\"add\", SUBSYSTEM==\"block\", ENV{{SYNTH_ARG_RUNID}}==\"{udevToken}\", RUN+=\"{attach} $kernel $env{{SYNTH_ARG_N}}\"\n" +
                $"ACTION==\"add\", SUBSYSTEM==\"block\", ENV{{SYNTH_ARG_RUNID}}==\"{sleepToken}\", RUN+=\"{attachSleep} $kernel $env{{SYNTH_ARG_N}}\"\n";

            await using BenchWorkspace ws = await BenchWorkspace.CreateAsync(syslog: true);
            ws.WriteRules($$"""
                rules:
                  - name: bench-latency
                    match:
                      subsystem: block
                      props: { SYNTH_ARG_RUNID: "{{agentToken}}" }
                    attach: { vm: winxp, as: usb-storage, read_only: true }
                """);
            ws.WriteConfig("kernel", "/sys", new Dictionary<string, string> { ["winxp"] = qemu.QmpSocket! });
            await using BenchDaemon daemon = BenchDaemon.Start(agentBinary, ws.ConfigPath, ws.Work, privateNetwork: true);
            await daemon.WaitReadyAsync();
            await daemon.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
            await using PrivateUdevd udevd = await PrivateUdevd.StartAsync(udevRules);
            await using HarnessQmp qmp = await HarnessQmp.ConnectAsync(qemu);

            var agent = new List<double>();
            var udev = new List<double>();
            int agentLost = 0, udevLost = 0;
            const int Warmup = 5;
            for (int i = -Warmup; i < events; i++)
            {
                bool agentFirst = (i & 1) == 0;
                for (int turn = 0; turn < 2; turn++)
                {
                    if ((turn == 0) == agentFirst)
                    {
                        double? ms = await AgentOnceAsync(agentLoop, agentToken, qmp);
                        if (i >= 0)
                        {
                            if (ms is { } v) { agent.Add(v); } else { agentLost++; }
                        }
                    }
                    else
                    {
                        double? ms = await UdevOnceAsync(udevLoop, udevToken, i + Warmup, qmp, udevd, s_lostAfter);
                        if (i >= 0)
                        {
                            if (ms is { } v) { udev.Add(v); } else { udevLost++; }
                        }
                    }
                }
            }

            var withSleep = new List<double>();
            for (int i = 0; i < sleepEvents; i++)
            {
                if (await UdevOnceAsync(udevLoop, sleepToken, 100_000 + i, qmp, udevd, TimeSpan.FromSeconds(10)) is { } v)
                {
                    withSleep.Add(v);
                }
            }

            // udevd has handled a few hundred events and is idle now.
            await udevd.SettleAsync();
            report.UdevdIdleRssKiB = udevd.RssKiB();

            // The daemon's own view (its audit records): event received → routed (after the blkid
            // probe a kernel-source block event needs) and → attached (QEMU answered device_add).
            var routed = new List<double>();
            var attached = new List<double>();
            foreach (var m in ws.Syslog!.ReadAll())
            {
                if (m.MsgId is "event.routed" or "device.attach" && m.Element("kua@32473") is var sd && sd["event"] == "add"
                    && double.TryParse(sd["latency_ms"], System.Globalization.CultureInfo.InvariantCulture, out double ms))
                {
                    (m.MsgId == "event.routed" ? routed : attached).Add(ms);
                }
            }

            Print("agent", agent, agentLost);
            Console.WriteLine($"  {"  inside the agent (its audit latency_ms)",-40} routed p50={Stats.F(Stats.Median(routed))} attached p50={Stats.F(Stats.Median(attached))} p99={Stats.F(Stats.Percentile(attached, 99))} ms (n={attached.Count})");
            Print("udevd+script", udev, udevLost);
            Print("udevd+script with the seed's sleep 3", withSleep, sleepEvents - withSleep.Count);
            double a50 = Stats.Percentile(agent, 50), a99 = Stats.Percentile(agent, 99), u50 = Stats.Percentile(udev, 50), u99 = Stats.Percentile(udev, 99);
            report.Row("Latency p50, uevent → in QEMU (ms)", Stats.F(a50), Stats.F(u50), $"{Stats.F(u50 / a50, "F2")}×", "≤ 2.5", a50 <= 2.5);
            report.Row("Latency p90 (ms)", Stats.F(Stats.Percentile(agent, 90)), Stats.F(Stats.Percentile(udev, 90)), $"{Stats.F(Stats.Percentile(udev, 90) / Stats.Percentile(agent, 90), "F2")}×", "-", null);
            report.Row("Latency p99 (ms)", Stats.F(a99), Stats.F(u99), $"{Stats.F(u99 / a99, "F2")}×", "≤ 5", a99 <= 5);
            report.Row("… of which inside the agent: received → routed (blkid probe) / → attached, p50 (ms)", $"{Stats.F(Stats.Median(routed))} / {Stats.F(Stats.Median(attached))}", "-", "-", "-", null);
            report.Row("Latency max (ms)", Stats.F(agent.DefaultIfEmpty(double.NaN).Max()), Stats.F(udev.DefaultIfEmpty(double.NaN).Max()), "-", "-", null);
            report.Row($"Latency lost (of {events})", agentLost.ToString(), udevLost.ToString(), "-", "0", agentLost == 0);
            report.Row("Latency with the seed's `sleep 3` (ms, median)", Stats.F(a50), $"{Stats.F(Stats.Median(withSleep), "F0")} (n={withSleep.Count})", $"{Stats.F(Stats.Median(withSleep) / a50, "F0")}×", "-", null);
        }
        finally
        {
            Directory.Delete(scripts, recursive: true);
        }
    }

    private static void Print(string name, List<double> samples, int lost) =>
        Console.WriteLine($"  {name,-40} n={samples.Count,4} lost={lost} p50={Stats.F(Stats.Percentile(samples, 50))} p90={Stats.F(Stats.Percentile(samples, 90))} p99={Stats.F(Stats.Percentile(samples, 99))} max={Stats.F(samples.DefaultIfEmpty(double.NaN).Max())} ms");

    private static async Task<double?> AgentOnceAsync(LoopDevice loop, string token, HarnessQmp qmp)
    {
        long t0 = Stopwatch.GetTimestamp();
        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
        long? seen = await qmp.PollUntilAsync("kua-", names => names.Count > 0, s_lostAfter, PollPauseMicroseconds);
        double? ms = seen is { } t ? Stopwatch.GetElapsedTime(t0, t).TotalMilliseconds : null;

        // Unplug: the agent detaches (device_del, DEVICE_DELETED, blockdev-del); the next attach
        // reuses the node name, so wait until QEMU has dropped the node as well.
        loop.TriggerUevent("remove", Guid.NewGuid(), ("RUNID", token));
        if (await qmp.PollUntilAsync("kua-", names => names.Count == 0, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1)) is null)
        {
            throw new InvalidOperationException("the agent did not detach the loop device within 10 s");
        }

        var clock = Stopwatch.StartNew();
        while (await qmp.BlockNodeCountAsync("kua-") > 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException("the agent's block node stayed in QEMU for 10 s after the detach");
            }

            await Task.Delay(1);
        }

        return ms;
    }

    private static async Task<double?> UdevOnceAsync(LoopDevice loop, string token, int n, HarnessQmp qmp, PrivateUdevd udevd, TimeSpan lostAfter)
    {
        string id = "udv" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        long t0 = Stopwatch.GetTimestamp();
        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token), ("N", n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        long? seen = await qmp.PollUntilAsync("udv", names => names.Contains(id), lostAfter, PollPauseMicroseconds);
        double? ms = seen is { } t ? Stopwatch.GetElapsedTime(t0, t).TotalMilliseconds : null;

        // The seed does nothing on removal; the harness cleans up (the drive_add'ed drive goes with its device).
        await udevd.SettleAsync();
        await qmp.DeviceDelAsync(id);
        return ms;
    }
}
