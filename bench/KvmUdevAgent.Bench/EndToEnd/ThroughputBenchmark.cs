using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// Item 3: N udev-format <c>add</c> events for 256 fixture USB devices (distinct, increasing SEQNUM)
/// injected by one sender thread, as fast as it can, into the daemon's private network namespace;
/// the daemon (<c>--dry-run</c>: plan, act on nothing; audit off) parses each, builds the device
/// view and evaluates it against 1,000 rules, of which only the last matches. Processed = the
/// plan lines in the daemon's log (one per event that went through all 1,000 rules); lost = sent −
/// processed, with the overflow and resync lines of the log beside it. The daemon's "matched"
/// counter (status over the control socket, polled every 10 ms) tells when the run is over.
/// </summary>
internal static class ThroughputBenchmark
{
    private const int Devices = 256;

    public static async Task RunAsync(string agentBinary, int events, int runs, Report report)
    {
        Console.WriteLine($"== throughput: {events} events through 1,000 rules, {runs} runs, load {ProcStatus.LoadAverage()}");
        var rates = new List<double>();
        long lostTotal = 0;
        for (int run = 0; run < runs; run++)
        {
            Outcome o = await OnceAsync(agentBinary, events);
            Console.WriteLine($"  run {run + 1}: {o.Describe()}");
            rates.Add(o.Rate);
            lostTotal += o.Lost;
        }

        // The same events with the sender held to a fixed rate: what the daemon sustains with nothing lost.
        var paced = new List<string>();
        long pacedLost = 0;
        foreach (int rate in new[] { 10_000, 20_000 })
        {
            Outcome o = await OnceAsync(agentBinary, events, rate);
            Console.WriteLine($"  paced at {rate}/s: {o.Describe()}");
            paced.Add($"{rate / 1000} k/s → lost {o.Lost}");
            pacedLost += o.Lost;
        }

        double median = Stats.Median(rates);
        report.Row("Throughput, sender held to a fixed rate (lost of 100,000)", string.Join("; ", paced), "-", "-", "-", null);
        report.Row($"Throughput: {events:N0} events → parse → 1,000 rules (events/s)", Stats.Spread(rates, "N0"), "- (udevd runs a process per RUN+= event)", "-", "≥ 100,000", median >= 100_000);
        report.Row("Throughput lost (all runs)", lostTotal.ToString(CultureInfo.InvariantCulture), "-", "-", "0", lostTotal == 0);
    }

    public static string Rules()
    {
        var yaml = new StringBuilder("rules:\n");
        for (int i = 0; i < 999; i++)
        {
            yaml.Append("  - name: miss-").Append(i).Append('\n');
            yaml.Append("    match:\n      subsystem: usb\n      devtype: usb_device\n");
            switch (i % 3)
            {
                case 0:
                    yaml.Append("      vendor: \"").Append((0x1000 + i).ToString("x4", CultureInfo.InvariantCulture)).Append("\"\n");
                    break;
                case 1:
                    yaml.Append("      vendor: \"abcd\"\n      product: \"f").Append((i % 0xfff).ToString("x3", CultureInfo.InvariantCulture)).Append("\"\n");
                    break;
                default:
                    yaml.Append("      vendor: \"abcd\"\n      serial: \"NOPE").Append(i).Append("*\"\n");
                    break;
            }

            yaml.Append("    hook:\n      run: [\"/bin/true\", \"{serial}\"]\n");
        }

        yaml.Append("  - name: the-one\n    match:\n      subsystem: usb\n      devtype: usb_device\n      vendor: \"abcd\"\n      serial: \"S*\"\n");
        yaml.Append("    hook:\n      run: [\"/bin/true\", \"{serial}\"]\n");
        return yaml.ToString();
    }

    /// <summary>
    /// One run, counted from the outside: <see cref="Sent"/> by the sender (each datagram its own
    /// SEQNUM), <see cref="Processed"/> from the daemon's log (one "Plan for add … (rule the-one)"
    /// line per event that went through the rules), the losses from the log's overflow warnings
    /// (socket <c>ENOBUFS</c>, the receive ring, a device's queue) and its resync lines. The daemon's
    /// own "matched" counter (<see cref="Matched"/>) only times the run and is shown beside them.
    /// </summary>
    private sealed record Outcome(int Sent, double SendSeconds, long Processed, long Matched, double Seconds,
        int SocketOverruns, int RingOverflows, int QueueOverflows, int Resyncs)
    {
        public long Lost => Sent - Processed;

        public double Rate => Processed / Seconds;

        public string Describe() =>
            $"{Stats.F(Rate, "F0")} events/s ({Stats.F(Seconds, "F3")} s; sender {Stats.F(Sent / SendSeconds, "F0")}/s), " +
            $"processed {Processed} of {Sent} (log; matched counter {Matched}), lost {Lost}; " +
            $"overflows: socket {SocketOverruns}, ring {RingOverflows}, device queue {QueueOverflows}; resyncs {Resyncs}";
    }

    private static async Task<Outcome> OnceAsync(string agentBinary, int events, int pacedRate = 0)
    {
        using var sysfs = new SysfsFixture();
        var nodes = new List<SysfsFixture.Node>();
        for (int k = 0; k < Devices; k++)
        {
            nodes.Add(sysfs.UsbDevice(1 + (k / 100), $"{1 + (k % 100 / 10)}.{1 + (k % 10)}", "abcd", k.ToString("x4", CultureInfo.InvariantCulture))
                .Strings("Bench", "Stick", "S" + k.ToString("D6", CultureInfo.InvariantCulture))
                .Interface(0x08, 0x06, 0x50, "usb-storage")
                .Add().UsbDevice);
        }

        // Every datagram built before the clock starts, each with its own increasing SEQNUM.
        var datagrams = new byte[events][];
        for (int i = 0; i < events; i++)
        {
            datagrams[i] = UdevMessageWriter.Write(sysfs.UdevProperties(nodes[i % Devices], "add", (ulong)(10_000 + i)));
        }

        await using BenchWorkspace ws = await BenchWorkspace.CreateAsync(syslog: false);
        ws.WriteRules(Rules());
        ws.WriteConfig("udev", sysfs.Root, new Dictionary<string, string>());
        await using BenchDaemon daemon = BenchDaemon.Start(agentBinary, ws.ConfigPath, ws.Work, privateNetwork: true, "--dry-run");
        await daemon.WaitReadyAsync();
        await using ControlClient control = await ControlClient.ConnectAsync(ws.ControlSocket, TimeSpan.FromSeconds(10));

        // Coldplug of the 256 devices is routed too (as dry-run plans): wait until it has settled.
        long baseline = await SettledMatchedAsync(control, TimeSpan.FromMilliseconds(300));
        using NetnsThread netns = NetnsThread.Enter(daemon.Pid);
        using var injector = new UeventInjector(netns);
        long t0 = Stopwatch.GetTimestamp();
        long sent = 0;
        var sender = new Thread(() =>
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < datagrams.Length; i++)
            {
                injector.Send(datagrams[i], NetlinkGroup.Udev);
                if (pacedRate > 0 && (i & 63) == 63)
                {
                    // Hold to the rate: wait until the clock says the next batch is due.
                    long due = start + (long)((i + 1) / (double)pacedRate * Stopwatch.Frequency);
                    while (Stopwatch.GetTimestamp() < due)
                    {
                        Thread.Sleep(1);
                    }
                }
            }

            sent = Stopwatch.GetTimestamp();
        });
        sender.Start();

        long last = baseline;
        long lastChange = t0;
        while (true)
        {
            await Task.Delay(10);
            long matched = await MatchedAsync(control);
            long now = Stopwatch.GetTimestamp();
            if (matched != last)
            {
                last = matched;
                lastChange = now;
            }

            if (matched - baseline >= events || Stopwatch.GetElapsedTime(lastChange, now) > TimeSpan.FromSeconds(2))
            {
                break;
            }
        }

        sender.Join();
        double seconds = Stopwatch.GetElapsedTime(t0, lastChange).TotalSeconds;
        if (Environment.GetEnvironmentVariable("KUA_BENCH_DEBUG") == "1")
        {
            File.Copy(daemon.LogPath, "/tmp/kua-bench-throughput.log", overwrite: true);
        }

        string log = daemon.Log;
        long processed = 0;
        foreach (ReadOnlySpan<char> line in log.AsSpan().EnumerateLines())
        {
            if (line.Contains("Plan for add ", StringComparison.Ordinal) && line.Contains("(rule the-one)", StringComparison.Ordinal))
            {
                processed++;
            }
        }

        return new Outcome(events, Stopwatch.GetElapsedTime(t0, sent).TotalSeconds, processed, last - baseline, seconds,
            CountOccurrences(log, "Events were lost (ReceiveBufferOverrun"),
            CountOccurrences(log, "Events were lost (RingOverflow"),
            CountOccurrences(log, "Too many events of"),
            CountOccurrences(log, "Resync:"));
    }

    private static async Task<long> SettledMatchedAsync(ControlClient control, TimeSpan quiet)
    {
        long last = -1;
        var since = Stopwatch.StartNew();
        while (true)
        {
            long now = await MatchedAsync(control);
            if (now != last)
            {
                last = now;
                since.Restart();
            }
            else if (since.Elapsed > quiet)
            {
                return last;
            }

            await Task.Delay(20);
        }
    }

    private static async Task<long> MatchedAsync(ControlClient control)
    {
        ControlResponse response = await control.SendAsync("status");
        return response.Ok
            ? response.Result.GetProperty("counters").GetProperty("matched").GetInt64()
            : throw new InvalidOperationException("status failed: " + response.Error);
    }

    private static int CountOccurrences(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
