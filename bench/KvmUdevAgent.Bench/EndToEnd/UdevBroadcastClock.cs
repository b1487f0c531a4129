using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// Listens, in a private udevd's network namespace, to what that udevd broadcasts (the udev netlink
/// group, as <c>udevadm monitor --udev</c> would), and notes when the event carrying
/// <c>SYNTH_ARG_RUNID=token</c> and <c>SYNTH_ARG_N=n</c> went out: kernel uevent → this is udevd's own
/// processing time, and from here on the time is the agent's (with <c>source: udev</c>) and QEMU's.
/// The clock reads on a thread of its own, blocked on the socket, so its timestamp is taken as soon as
/// the datagram wakes it (through the runtime's socket engine it was a thread hop later).
/// </summary>
internal sealed class UdevBroadcastClock : IAsyncDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly string _token;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<long>> _seen = new();
    private readonly Thread _thread;

    private UdevBroadcastClock(NetlinkSocket socket, string token)
    {
        _socket = socket;
        _token = token;
        _thread = new Thread(Read) { IsBackground = true, Name = "bench-clock" };
        _thread.Start();
    }

    public static async Task<UdevBroadcastClock> StartAsync(int udevdPid, string token)
    {
        using NetnsThread netns = NetnsThread.Enter(udevdPid);
        NetlinkSocket socket = await netns.RunAsync(() => NetlinkSocket.Open(NetlinkGroup.Udev, 4 * 1024 * 1024));
        return new UdevBroadcastClock(socket, token);
    }

    /// <summary>The Stopwatch timestamp at which udevd's broadcast of event <paramref name="n"/> arrived; null after <paramref name="timeout"/>.</summary>
    public async Task<long?> WhenBroadcastAsync(int n, TimeSpan timeout)
    {
        try
        {
            return await Waiter(n).Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _seen.TryRemove(n, out _);
        }
    }

    private TaskCompletionSource<long> Waiter(int n) => _seen.GetOrAdd(n, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));

    private void Read()
    {
        var buffer = new byte[64 * 1024];
        while (_socket.WaitReadable())
        {
            while (_socket.TryReceive(buffer, out NetlinkReceiveResult received))
            {
                long now = Stopwatch.GetTimestamp();
                if (received.Overflow || received.Length == 0
                    || !UeventParser.TryParse(buffer.AsSpan(0, received.Length), UeventSource.Udev, now, out Uevent? uevent, out _))
                {
                    continue;
                }

                if (uevent.GetString("SYNTH_ARG_RUNID") == _token && uevent.Action == UeventAction.Add
                    && int.TryParse(uevent.GetString("SYNTH_ARG_N"), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                {
                    Waiter(n).TrySetResult(now);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Interrupt();
        _thread.Join();
        await _socket.DisposeAsync();
    }
}
