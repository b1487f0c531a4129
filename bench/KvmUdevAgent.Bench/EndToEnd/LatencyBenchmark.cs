using System.Diagnostics;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// Item 1: a real kernel uevent (synthetic, on a loop device, with a per-run token) → the device
/// present in a paused TCG QEMU, seen through the harness's own QMP connection (qom-list polled back
/// to back from just before the write to the uevent file). The floor (a direct QMP client sending the
/// agent's two commands for the drive), the agent (rule: props SYNTH_ARG_RUNID, attach as
/// usb-storage, read-only) and the seed's way (udevd + RUN+= script + socat to the VM's HMP socket:
/// drive_add + device_add usb-storage, read-only) take turns on the same QEMU, each on its own loop
/// device, one event at a time; each device is removed before the next event. Then the same with
/// <c>source: udev</c>, split at udevd's broadcast into udevd's own time and the agent's share
/// (issue 15). Every turn is also timed on QEMU's own clock (<see cref="QemuAttachTrace"/>: the
/// moment it realized the device on its port), which the poll reaches only on its next round.
/// </summary>
internal static partial class LatencyBenchmark
{
    private const uint PollPauseMicroseconds = 250;
    private static readonly TimeSpan s_lostAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_quietPause = TimeSpan.FromMilliseconds(5);

    public static async Task RunAsync(string agentBinary, int events, int sleepEvents, Report report)
    {
        Console.WriteLine($"== latency: {events} events each, alternating agent / udevd+script, load {ProcStatus.LoadAverage()}");
        string token = "kua" + Guid.NewGuid().ToString("N")[..10];
        string agentToken = token + "a";
        string udevToken = token + "u";
        string sleepToken = token + "s";

        string udevAgentToken = token + "d";
        await using LoopDevice agentLoop = await LoopDevice.CreateAsync();
        await using LoopDevice udevLoop = await LoopDevice.CreateAsync();
        await using LoopDevice floorLoop = await LoopDevice.CreateAsync();
        string scripts = Directory.CreateTempSubdirectory("kua-bench-scripts-").FullName;
        try
        {
            string floorSocket = Path.Combine(scripts, "floor.qmp");
            string tracePath = Path.Combine(scripts, "qemu-trace.log");
            using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { HmpUnix = true, ExtraArguments = [.. FloorQmp.Arguments(floorSocket), .. QemuAttachTrace.Arguments(tracePath)] });
            using QemuAttachTrace trace = QemuAttachTrace.Open(tracePath);
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
            await using PrivateUdevd udevd = await PrivateUdevd.StartAsync(udevRules);
            await using HarnessQmp qmp = await HarnessQmp.ConnectAsync(qemu);
            await using FloorQmp floor = await FloorQmp.ConnectAsync(floorSocket);
            BenchDaemon daemon = BenchDaemon.Start(agentBinary, ws.ConfigPath, ws.Work, privateNetwork: true);

            // Floor, agent (source: kernel), udevd + script and the floor polled only after its answers
            // (as in earlier rounds) take turns, the order rotating each event.
            var agent = new List<double>();
            var udev = new List<double>();
            var floorSeen = new List<double>();
            var floorAnswered = new List<double>();
            var floorPolledAfter = new List<double>();
            var floorWithUevent = new List<double>();
            var traced = new TracedLatencies();
            (string, string)[] floorUevent = [("RUNID", token + "f")];
            int agentLost = 0, udevLost = 0;
            const int Warmup = 5;
            try
            {
                await daemon.WaitReadyAsync();
                await daemon.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
                for (int i = -Warmup; i < events; i++)
                {
                    for (int turn = 0; turn < 5; turn++)
                    {
                        await QuietAsync(udevd);
                        switch ((i + Warmup + turn) % 5)
                        {
                            case 4:
                                (double seen2, _, double? attached2) = await FloorOnceAsync(floor, floorLoop, 300_000 + i + Warmup, qmp, trace, uevent: floorUevent);
                                if (i >= 0)
                                {
                                    floorWithUevent.Add(seen2);
                                    traced.Add(traced.FloorWithUevent, attached2);
                                }

                                break;
                            case 3:
                                (double seen1, _, _) = await FloorOnceAsync(floor, floorLoop, 100_000 + i + Warmup, qmp, trace, pollWhileQemuWorks: false);
                                if (i >= 0)
                                {
                                    floorPolledAfter.Add(seen1);
                                }

                                break;
                            case 0:
                                (double seen, double answered, double? floorAttached) = await FloorOnceAsync(floor, floorLoop, i + Warmup, qmp, trace);
                                if (i >= 0)
                                {
                                    floorSeen.Add(seen);
                                    floorAnswered.Add(answered);
                                    traced.Add(traced.Floor, floorAttached);
                                }

                                break;
                            case 1:
                                (double? ms, double? agentAttached) = await AgentOnceAsync(agentLoop, qmp, trace, [("RUNID", agentToken)]);
                                if (i >= 0)
                                {
                                    if (ms is { } v) { agent.Add(v); traced.Add(traced.Agent, agentAttached); } else { agentLost++; }
                                }

                                break;
                            default:
                                (double? us, double? udevAttached) = await UdevOnceAsync(udevLoop, udevToken, i + Warmup, qmp, trace, udevd, s_lostAfter);
                                if (i >= 0)
                                {
                                    if (us is { } v) { udev.Add(v); traced.Add(traced.Udev, udevAttached); } else { udevLost++; }
                                }

                                break;
                        }
                    }
                }
            }
            finally
            {
                // The source: udev agent below takes over the VM's monitor.
                await daemon.DisposeAsync();
            }

            var withSleep = new List<double>();
            for (int i = 0; i < sleepEvents; i++)
            {
                if ((await UdevOnceAsync(udevLoop, sleepToken, 100_000 + i, qmp, trace, udevd, TimeSpan.FromSeconds(10))).Seen is { } v)
                {
                    withSleep.Add(v);
                }
            }

            // udevd has handled a few hundred events and is idle now.
            await udevd.SettleAsync();
            report.UdevdIdleRssKiB = udevd.RssKiB();

            // The daemon's own view (its audit records): event received → routed (after the blkid
            // probe a kernel-source block event needs) and → attached (QEMU answered device_add).
            (List<double> routed, List<double> attached) = AuditLatencies(ws);

            // With source: udev (udevd runs, as on most machines): the agent in udevd's network
            // namespace hears udevd's broadcasts; the harness hears them too and splits each event
            // into udevd's own time (kernel uevent → broadcast) and the agent's share (→ in QEMU).
            // Three contenders take turns, the order rotating each event: the floor, the agent, and
            // the floor sent as udevd's broadcast of its own drive's uevent arrives (what any
            // reactor to that broadcast pays: udevd is still at work beside QEMU).
            var udevdOwn = new List<double>();
            var agentShare = new List<double>();
            var floor2 = new List<double>();
            var floorReacting = new List<double>();
            string reactToken = token + "r";
            int agentUdevLost = 0;
            await using BenchWorkspace ws2 = await BenchWorkspace.CreateAsync(syslog: true);
            ws2.WriteRules($$"""
                rules:
                  - name: bench-latency-udev
                    match:
                      subsystem: block
                      props: { SYNTH_ARG_RUNID: "{{udevAgentToken}}" }
                    attach: { vm: winxp, as: usb-storage, read_only: true }
                """);
            ws2.WriteConfig("udev", "/sys", new Dictionary<string, string> { ["winxp"] = qemu.QmpSocket! });
            await using (BenchDaemon udevAgent = BenchDaemon.StartInNetworkOf(udevd.Pid, agentBinary, ws2.ConfigPath, ws2.Work))
            await using (UdevBroadcastClock broadcasts = await UdevBroadcastClock.StartAsync(udevd.Pid, udevAgentToken, reactToken))
            {
                await udevAgent.WaitReadyAsync();
                await udevAgent.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
                for (int i = -Warmup; i < events; i++)
                {
                    for (int turn = 0; turn < 3; turn++)
                    {
                        await QuietAsync(udevd);
                        int kind = (i + Warmup + turn) % 3;
                        if (kind == 0)
                        {
                            (double seen, _, double? floor2Attached) = await FloorOnceAsync(floor, floorLoop, 200_000 + i + Warmup, qmp, trace);
                            if (i >= 0)
                            {
                                floor2.Add(seen);
                                traced.Add(traced.Floor2, floor2Attached);
                            }

                            continue;
                        }

                        if (kind == 2)
                        {
                            (double share, double? shareAttached) = await FloorOnBroadcastOnceAsync(floor, floorLoop, 400_000 + i + Warmup, reactToken, broadcasts, qmp, trace);
                            if (i >= 0)
                            {
                                floorReacting.Add(share);
                                traced.Add(traced.FloorReacting, shareAttached);
                            }

                            continue;
                        }

                        int n = i + Warmup;
                        TraceAnchor t0 = TraceAnchor.Now();
                        Task<long?> broadcast = broadcasts.WhenBroadcastAsync(n, s_lostAfter);
                        (double? ms, DateTime? attachedAt) = await AgentTurnAsync(agentLoop, qmp, trace, [("RUNID", udevAgentToken), ("N", n.ToString(System.Globalization.CultureInfo.InvariantCulture))], t0);
                        long? sent = await broadcast;
                        if (i < 0)
                        {
                            continue;
                        }

                        if (ms is { } total && sent is { } b)
                        {
                            double own = Stopwatch.GetElapsedTime(t0.Ticks, b).TotalMilliseconds;
                            udevdOwn.Add(own);
                            agentShare.Add(total - own);
                            traced.Add(traced.AgentShare, attachedAt is { } at ? t0.MillisecondsTo(at, b) : null);
                        }
                        else
                        {
                            agentUdevLost++;
                        }
                    }
                }
            }

            (List<double> routedUdev, List<double> attachedUdev) = AuditLatencies(ws2);

            double f50 = Stats.Percentile(floorSeen, 50), f99 = Stats.Percentile(floorSeen, 99);
            Console.WriteLine("  -- source: kernel (uevent written → device listed by qom-list) --");
            Print("floor: direct QMP client, same commands", floorSeen, 0);
            Print("  floor: both commands answered", floorAnswered, 0);
            Print("floor, polled only after its answers", floorPolledAfter, 0);
            Print("floor, sent as its own uevent is written", floorWithUevent, 0);
            Print("agent", agent, agentLost);
            Console.WriteLine($"  {"  inside the agent (its audit latency_ms)",-40} routed p50={Stats.F(Stats.Median(routed))} p90={Stats.F(Stats.Percentile(routed, 90))} p99={Stats.F(Stats.Percentile(routed, 99))}, attached p50={Stats.F(Stats.Median(attached))} p90={Stats.F(Stats.Percentile(attached, 90))} p99={Stats.F(Stats.Percentile(attached, 99))} ms (n={attached.Count})");
            Print("udevd+script", udev, udevLost);
            Print("udevd+script with the seed's sleep 3", withSleep, sleepEvents - withSleep.Count);
            PrintDifference("agent - floor", agent, floorSeen, " (target ≤ 0.5)", " (target ≤ 1.5)");
            PrintDifference("agent - floor polled only after its answers (earlier rounds)", agent, floorPolledAfter, "", "");
            PrintDifference("agent - floor sent as its own uevent is written (udevd handles that uevent too)", agent, floorWithUevent, "", "");
            Console.WriteLine("  -- source: kernel, the same turns on QEMU's own clock (uevent written → its usb_port_attach trace, logged before it answers device_add) --");
            Print("floor", traced.Floor, 0);
            Print("floor, sent as its own uevent is written", traced.FloorWithUevent, 0);
            Print("agent", traced.Agent, 0);
            Print("udevd+script", traced.Udev, 0);
            PrintDifference("agent - floor", traced.Agent, traced.Floor, " (target ≤ 0.5)", " (target ≤ 1.5)");
            PrintDifference("agent - floor sent as its own uevent is written", traced.Agent, traced.FloorWithUevent, "", "");
            double g50 = Stats.Percentile(floor2, 50), g99 = Stats.Percentile(floor2, 99);
            Console.WriteLine("  -- source: udev (the agent hears udevd's broadcast) --");
            Print("floor (same phase)", floor2, 0);
            Print("udevd's own: uevent → broadcast", udevdOwn, 0);
            Print("agent's share: broadcast → in QEMU", agentShare, agentUdevLost);
            Console.WriteLine($"  {"  inside the agent (its audit latency_ms)",-40} routed p50={Stats.F(Stats.Median(routedUdev))} p90={Stats.F(Stats.Percentile(routedUdev, 90))} p99={Stats.F(Stats.Percentile(routedUdev, 99))}, attached p50={Stats.F(Stats.Median(attachedUdev))} p90={Stats.F(Stats.Percentile(attachedUdev, 90))} p99={Stats.F(Stats.Percentile(attachedUdev, 99))} ms (n={attachedUdev.Count})");
            Print("floor on udevd's broadcast: → in QEMU", floorReacting, 0);
            PrintDifference("agent's share - floor", agentShare, floor2, " (target ≤ 0.5)", " (target ≤ 1.5)");
            PrintDifference("agent's share - floor on udevd's broadcast (udevd still at work beside QEMU for both)", agentShare, floorReacting, "", "");

            Console.WriteLine("  -- source: udev, the same turns on QEMU's own clock (→ its usb_port_attach trace) --");
            Print("floor (same phase)", traced.Floor2, 0);
            Print("agent's share: broadcast → attached", traced.AgentShare, 0);
            Print("floor on udevd's broadcast: → attached", traced.FloorReacting, 0);
            PrintDifference("agent's share - floor", traced.AgentShare, traced.Floor2, " (target ≤ 0.5)", " (target ≤ 1.5)");
            PrintDifference("agent's share - floor on udevd's broadcast", traced.AgentShare, traced.FloorReacting, "", "");
            Console.WriteLine($"  turns QEMU's trace could not time (not one attach logged for the turn): {traced.Untimed}");

            double a50 = Stats.Percentile(agent, 50), a99 = Stats.Percentile(agent, 99), u50 = Stats.Percentile(udev, 50), u99 = Stats.Percentile(udev, 99);
            report.Row("Floor p50 / p99, direct QMP client, same two commands in one write (ms)", $"{Stats.F(f50)} / {Stats.F(f99)}", "-", "-", "-", null);
            report.Row("… the floor polled only after its answers (earlier rounds), p50 / p99 (ms)", $"{Stats.F(Stats.Percentile(floorPolledAfter, 50))} / {Stats.F(Stats.Percentile(floorPolledAfter, 99))}", "-", "-", "-", null);
            report.Row("… the floor's commands sent as a uevent of its own drive is written (udevd handles it too), p50 / p99 (ms)", $"{Stats.F(Stats.Percentile(floorWithUevent, 50))} / {Stats.F(Stats.Percentile(floorWithUevent, 99))}", "-", "-", "-", null);
            report.Row("Latency p50, uevent → in QEMU (ms)", Stats.F(a50), Stats.F(u50), $"{Stats.F(u50 / a50, "F2")}×", $"≤ floor + 0.5 = {Stats.F(f50 + 0.5)}", a50 <= f50 + 0.5);
            report.Row("Latency p90 (ms)", Stats.F(Stats.Percentile(agent, 90)), Stats.F(Stats.Percentile(udev, 90)), $"{Stats.F(Stats.Percentile(udev, 90) / Stats.Percentile(agent, 90), "F2")}×", "-", null);
            report.Row("Latency p99 (ms)", Stats.F(a99), Stats.F(u99), $"{Stats.F(u99 / a99, "F2")}×", $"≤ floor p99 + 1.5 = {Stats.F(f99 + 1.5)}", a99 <= f99 + 1.5);
            report.Row("… of which inside the agent: received → routed (blkid probe) / → attached, p50 (ms)", $"{Stats.F(Stats.Median(routed))} / {Stats.F(Stats.Median(attached))}", "-", "-", "-", null);
            report.Row("Latency max (ms)", Stats.F(agent.DefaultIfEmpty(double.NaN).Max()), Stats.F(udev.DefaultIfEmpty(double.NaN).Max()), "-", "-", null);
            report.Row($"Latency lost (of {events})", agentLost.ToString(), udevLost.ToString(), "-", "0", agentLost == 0);
            report.Row("Latency with the seed's `sleep 3` (ms, median)", Stats.F(a50), $"{Stats.F(Stats.Median(withSleep), "F0")} (n={withSleep.Count})", $"{Stats.F(Stats.Median(withSleep) / a50, "F0")}×", "-", null);
            double s50 = Stats.Percentile(agentShare, 50), s99 = Stats.Percentile(agentShare, 99);
            report.Row("`source: udev`: floor p50 / p99 (same phase, ms)", $"{Stats.F(g50)} / {Stats.F(g99)}", "-", "-", "-", null);
            report.Row("`source: udev`: the floor's commands sent as udevd's broadcast of its drive's uevent arrives, broadcast → in QEMU, p50 / p99 (ms)", $"{Stats.F(Stats.Percentile(floorReacting, 50))} / {Stats.F(Stats.Percentile(floorReacting, 99))}", "-", "-", "-", null);
            report.Row("`source: udev`: udevd's own time, uevent → broadcast, p50 / p99 (ms)", "-", $"{Stats.F(Stats.Percentile(udevdOwn, 50))} / {Stats.F(Stats.Percentile(udevdOwn, 99))}", "-", "-", null);
            report.Row("`source: udev`: agent's share p50, broadcast → in QEMU (ms)", Stats.F(s50), "-", "-", $"≤ floor + 0.5 = {Stats.F(g50 + 0.5)}", s50 <= g50 + 0.5);
            report.Row("`source: udev`: agent's share p99 (ms)", Stats.F(s99), "-", "-", $"≤ floor p99 + 1.5 = {Stats.F(g99 + 1.5)}", s99 <= g99 + 1.5);
            TracedRows(report, traced);
            report.Row($"`source: udev`: lost (of {events})", agentUdevLost.ToString(), "-", "-", "0", agentUdevLost == 0);
        }
        finally
        {
            Directory.Delete(scripts, recursive: true);
        }
    }

    /// <summary>The audit <c>latency_ms</c> of the daemon's <c>add</c> records: received → routed, and → attached.</summary>
    private static (List<double> Routed, List<double> Attached) AuditLatencies(BenchWorkspace ws)
    {
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

        return (routed, attached);
    }

    private static void PrintDifference(string name, List<double> a, List<double> b, string target50, string target99) =>
        Console.WriteLine($"  {name}: p50 {Stats.F(Stats.Percentile(a, 50) - Stats.Percentile(b, 50))} ms{target50}, p99 {Stats.F(Stats.Percentile(a, 99) - Stats.Percentile(b, 99))} ms{target99}");

    /// <summary>The report's rows on QEMU's own clock, each beside the floor timed by the same clock.</summary>
    private static void TracedRows(Report report, TracedLatencies traced)
    {
        double f50 = Stats.Percentile(traced.Floor, 50), f99 = Stats.Percentile(traced.Floor, 99);
        double a50 = Stats.Percentile(traced.Agent, 50), a99 = Stats.Percentile(traced.Agent, 99);
        double u50 = Stats.Percentile(traced.Udev, 50), u99 = Stats.Percentile(traced.Udev, 99);
        report.Row("On QEMU's own clock (usb_port_attach trace): floor p50 / p99 (ms)", $"{Stats.F(f50)} / {Stats.F(f99)}", "-", "-", "-", null);
        report.Row("On QEMU's own clock: uevent → attached p50 (ms)", Stats.F(a50), Stats.F(u50), $"{Stats.F(u50 / a50, "F2")}×", $"≤ floor + 0.5 = {Stats.F(f50 + 0.5)}", a50 <= f50 + 0.5);
        report.Row("On QEMU's own clock: uevent → attached p99 (ms)", Stats.F(a99), Stats.F(u99), $"{Stats.F(u99 / a99, "F2")}×", $"≤ floor p99 + 1.5 = {Stats.F(f99 + 1.5)}", a99 <= f99 + 1.5);
        double g50 = Stats.Percentile(traced.Floor2, 50), g99 = Stats.Percentile(traced.Floor2, 99);
        double s50 = Stats.Percentile(traced.AgentShare, 50), s99 = Stats.Percentile(traced.AgentShare, 99);
        report.Row("On QEMU's own clock, `source: udev`: floor p50 / p99 (ms)", $"{Stats.F(g50)} / {Stats.F(g99)}", "-", "-", "-", null);
        report.Row("On QEMU's own clock, `source: udev`: agent's share p50, broadcast → attached (ms)", Stats.F(s50), "-", "-", $"≤ floor + 0.5 = {Stats.F(g50 + 0.5)}", s50 <= g50 + 0.5);
        report.Row("On QEMU's own clock, `source: udev`: agent's share p99 (ms)", Stats.F(s99), "-", "-", $"≤ floor p99 + 1.5 = {Stats.F(g99 + 1.5)}", s99 <= g99 + 1.5);
    }

    private static void Print(string name, List<double> samples, int lost) =>
        Console.WriteLine($"  {name,-40} n={samples.Count,4} lost={lost} p50={Stats.F(Stats.Percentile(samples, 50))} p90={Stats.F(Stats.Percentile(samples, 90))} p99={Stats.F(Stats.Percentile(samples, 99))} max={Stats.F(samples.DefaultIfEmpty(double.NaN).Max())} ms");
}
