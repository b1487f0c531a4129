using System.Diagnostics;
using System.Globalization;
using KvmUdevAgent.Bench.EndToEnd;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Bench.Events;

/// <summary>
/// <c>dotnet bench/KvmUdevAgent.Bench/bin/Release/net10.0/KvmUdevAgent.Bench.dll netlink-hop [EVENTS]</c>
/// (root): the way from the netlink socket to the consumer of <see cref="IUeventSource.Events"/> alone,
/// the part of an attach that issue 15's thread hops are in. One udev-format datagram at a time from a
/// sender thread inside a private network namespace, 2 ms apart so that every thread involved is idle
/// again; the time from just before <c>sendto</c> to the consumer (an <c>await foreach</c>, as the
/// pipeline's) running with the event. With and without <see cref="UeventSourceOptions.ResumeIdleReaderInline"/>.
/// </summary>
internal static class NetlinkHop
{
    public static async Task<int> RunAsync(string[] args)
    {
        int events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        Console.WriteLine($"netlink-hop: {events} events, one at a time 2 ms apart, load {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (bool inline in s_variants)
        {
            await RunOnceAsync(events, inline);
        }

        return 0;
    }

    private static readonly bool[] s_variants = [false, true];

    private static async Task RunOnceAsync(int events, bool inline)
    {
        (IUeventSource source, NetlinkSocket sender) = NetlinkThroughput.InPrivateNamespace(() => (
            UeventSources.Open(SourceKind.Udev, new UeventSourceOptions { ReceiveBufferBytes = 4 * 1024 * 1024, ResumeIdleReaderInline = inline }, NullLogger.Instance),
            NetlinkSocket.Open(NetlinkGroup.None)));
        await using (source)
        using (sender)
        {
            long[] sent = new long[events];
            long[] taken = new long[events];
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task consumer = Task.Run(async () =>
            {
                int count = 0;
                await foreach (Uevent e in source.Events.ReadAllAsync().ConfigureAwait(false))
                {
                    long now = Stopwatch.GetTimestamp();
                    int n = int.Parse(e.GetString("N")!, CultureInfo.InvariantCulture);
                    taken[n] = now;
                    if (++count == events)
                    {
                        done.SetResult();
                        return;
                    }
                }
            });

            var senderThread = new Thread(() =>
            {
                for (int i = 0; i < events; i++)
                {
                    byte[] message = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb2/2-1", "SUBSYSTEM=usb",
                        "DEVTYPE=usb_device", "N=" + i.ToString(CultureInfo.InvariantCulture));
                    Thread.Sleep(2);
                    sent[i] = Stopwatch.GetTimestamp();
                    sender.Send(message, NetlinkGroup.Udev);
                }
            });
            senderThread.Start();
            senderThread.Join();
            await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await consumer;

            double[] us = [.. Enumerable.Range(0, events).Select(i => (taken[i] - sent[i]) * 1e6 / Stopwatch.Frequency)];
            string P(double p) => Stats.F(Stats.Percentile(us, p), "F0");
            Console.WriteLine($"  resume idle reader inline: {(inline ? "yes" : "no "),-3}  sendto → consumer, µs: p50 {P(50)}  p90 {P(90)}  p99 {P(99)}  max {P(100)}");
        }
    }
}
