using System.Diagnostics;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using Microsoft.Extensions.Logging.Abstractions;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Bench.Events;

/// <summary>
/// <c>dotnet run -c Release --project bench/KvmUdevAgent.Bench -- netlink-throughput [EVENTS]</c>:
/// receive + parse throughput of the udev source for udev-format events injected as fast as one
/// sender can, inside a private network namespace (root only), at 1, 8 and 64 MiB receive buffers.
/// Prints events/s and how many were lost.
/// </summary>
internal static class NetlinkThroughput
{
    public static async Task<int> RunAsync(string[] args)
    {
        int events = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        Console.WriteLine($"netlink-throughput: {events} udev-format events per run, one sender thread, private network namespace");
        Console.WriteLine($"{"rcvbuf",8} {"granted",10} {"received",9} {"lost",8} {"overruns",8} {"seconds",8} {"events/s",10}");
        foreach (int mib in new[] { 1, 8, 64 })
        {
            await RunOnceAsync(events, mib * 1024 * 1024);
        }

        return 0;
    }

    private static async Task RunOnceAsync(int events, int receiveBufferBytes)
    {
        (IUeventSource source, NetlinkSocket sender) = InPrivateNamespace(() => (
            UeventSources.Open(SourceKind.Udev, new UeventSourceOptions { ReceiveBufferBytes = receiveBufferBytes, Capacity = 4096 }, NullLogger.Instance),
            NetlinkSocket.Open(NetlinkGroup.None)));
        await using (source)
        using (sender)
        {
            byte[][] messages = [.. Enumerable.Range(0, 256).Select(i => UdevMessageWriter.Write(
                "ACTION=add", $"DEVPATH=/devices/pci0000:00/0000:00:14.0/usb2/2-{i}", "SUBSYSTEM=usb", "DEVTYPE=usb_device",
                "ID_VENDOR_ID=058f", "ID_MODEL_ID=6387", $"ID_SERIAL_SHORT=576B63C4{i:x2}", "BUSNUM=002", $"DEVNUM={i:d3}", $"SEQNUM={i}"))];

            long received = 0;
            long lastReceived = 0;
            var clock = Stopwatch.StartNew();
            Task consumer = Task.Run(async () =>
            {
                // Drain without waiting while events are queued; done when nothing arrives for 300 ms after the sender finished.
                while (true)
                {
                    while (source.Events.TryRead(out _))
                    {
                        received++;
                        lastReceived = clock.ElapsedTicks;
                    }

                    using var idle = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                    try
                    {
                        await source.Events.WaitToReadAsync(idle.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        if (Volatile.Read(ref s_senderDone))
                        {
                            return;
                        }
                    }
                }
            });

            Volatile.Write(ref s_senderDone, false);
            var senderThread = new Thread(() =>
            {
                for (int i = 0; i < events; i++)
                {
                    sender.Send(messages[i & 255], NetlinkGroup.Udev);
                }

                Volatile.Write(ref s_senderDone, true);
            });
            senderThread.Start();
            senderThread.Join();
            await consumer;

            double seconds = (double)lastReceived / Stopwatch.Frequency;
            Console.WriteLine($"{receiveBufferBytes / (1024 * 1024),6}Mi {((NetlinkUeventSource)source).ReceiveBufferBytes,10} {received,9} {events - received,8} {source.Counters.Overruns,8} {seconds,8:F3} {received / seconds,10:F0}");
        }
    }

    private static bool s_senderDone;

    /// <summary>Runs <paramref name="create"/> on a throwaway thread moved into a new network namespace; the sockets stay there.</summary>
    internal static T InPrivateNamespace<T>(Func<T> create)
    {
        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (unshare(CLONE_NEWNET) != 0)
                {
                    throw new InvalidOperationException($"unshare(CLONE_NEWNET) failed, errno {errno}: run as root");
                }

                result = create();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? result! : throw new InvalidOperationException(error.Message, error);
    }
}
