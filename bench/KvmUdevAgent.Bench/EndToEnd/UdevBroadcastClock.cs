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
/// the datagram wakes it (through the runtime's socket engine it was a thread hop later). It can also
/// act on a broadcast there (<see cref="ReactTo"/>): the floor that reacts to udevd's broadcast sends
/// its commands from this thread, as the agent's receive thread does.
/// </summary>
internal sealed class UdevBroadcastClock : IAsyncDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly string[] _tokens;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<long>> _seen = new();
    private readonly ConcurrentDictionary<int, Action> _reactions = new();
    private readonly Thread _thread;

    private UdevBroadcastClock(NetlinkSocket socket, string[] tokens)
    {
        _socket = socket;
        _tokens = tokens;
        _thread = new Thread(Read) { IsBackground = true, Name = "bench-clock" };
        _thread.Start();
    }

    /// <summary>Events are told apart by <c>SYNTH_ARG_N</c> alone, so the callers keep those distinct across <paramref name="tokens"/>.</summary>
    public static async Task<UdevBroadcastClock> StartAsync(int udevdPid, params string[] tokens)
    {
        using NetnsThread netns = NetnsThread.Enter(udevdPid);
        NetlinkSocket socket = await netns.RunAsync(() => NetlinkSocket.Open(NetlinkGroup.Udev, 4 * 1024 * 1024));
        return new UdevBroadcastClock(socket, tokens);
    }

    /// <summary>Runs <paramref name="reaction"/> on the clock's thread as soon as the broadcast of event <paramref name="n"/> arrives (once).</summary>
    public void ReactTo(int n, Action reaction) => _reactions[n] = reaction;

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

                if (Array.IndexOf(_tokens, uevent.GetString("SYNTH_ARG_RUNID")) >= 0 && uevent.Action == UeventAction.Add
                    && int.TryParse(uevent.GetString("SYNTH_ARG_N"), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                {
                    if (_reactions.TryRemove(n, out Action? reaction))
                    {
                        reaction();
                    }

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
