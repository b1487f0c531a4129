using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using KvmUdevAgent.Core.Events.Netlink;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The receive loop shared by the kernel and udev sources: receive, check the sender, parse,
/// hand on. Bad input is dropped with a reason and never stops the loop; only a socket error does.
/// The loop has a thread of its own, blocked on the socket while there is nothing to read: a datagram
/// wakes it directly (issue 15: no epoll thread and thread pool hop between the socket and the ring).
/// </summary>
internal abstract partial class NetlinkUeventSource : IUeventSource
{
    /// <summary>
    /// Receive buffer for one datagram. Kernel uevents are at most 2 KiB (UEVENT_BUFFER_SIZE);
    /// udevd's carry every property of the device, so allow far more. Larger ones are counted as Truncated.
    /// </summary>
    internal const int MaxDatagramBytes = 128 * 1024;

    /// <summary>
    /// While the pipeline still takes a backlog from the ring after the socket went quiet, the loop looks
    /// again this often, to give the backlog's memory back once it is gone (<see cref="UeventRing.TrimIfEmpty"/>).
    /// </summary>
    private const int TrimRetryMilliseconds = 100;

    private readonly NetlinkSocket _socket;
    private readonly ILogger _logger;
    private readonly UeventRing _events;
    private readonly bool _mayRunReader;
    private readonly Channel<UeventOverflow> _overflows;
    private readonly Channel<UeventReject> _rejects;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private readonly int _capacity;
    private volatile bool _stopping;
    private int _disposed;

    protected NetlinkUeventSource(UeventSource kind, NetlinkSocket socket, UeventSourceOptions options, ILogger logger)
    {
        Kind = kind;
        _socket = socket;
        _logger = logger;
        _capacity = options.Capacity;
        _mayRunReader = options.ResumeIdleReaderInline;
        // The ring between the receive loop and the pipeline. The loop only ever tries to write
        // (see ReceiveLoop): it never waits on anything but the socket.
        _events = new UeventRing(kind, options.Capacity);
        _overflows = Channel.CreateBounded<UeventOverflow>(new BoundedChannelOptions(1)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        // A flood of bad datagrams must cost the loop nothing more than a counter: a few are kept
        // for the audit warning, the rest only counted.
        _rejects = Channel.CreateBounded<UeventReject>(new BoundedChannelOptions(16)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        Log.UeventSourceOpened(logger, kind, socket.Groups, socket.PortId, socket.ReceiveBufferBytes);
        _thread = new Thread(ReceiveLoop) { IsBackground = true, Name = "uevent-receive" };
        _thread.Start();
    }

    public UeventSource Kind { get; }

    public ChannelReader<Uevent> Events => _events;

    public ChannelReader<UeventOverflow> Overflows => _overflows.Reader;

    public ChannelReader<UeventReject> Rejects => _rejects.Reader;

    public UeventSourceCounters Counters { get; } = new();

    /// <summary>The socket's port id (tests use it to tell their own messages apart).</summary>
    internal uint PortId => _socket.PortId;

    /// <summary>The socket's descriptor (tests replace it to provoke a socket error).</summary>
    internal int SocketDescriptor => _socket.Descriptor;

    /// <summary>The receive loop's thread id as the kernel knows it (<c>/proc/self/task/ID</c>), once it runs; 0 before.</summary>
    internal int ReceiveThreadId { get; private set; }

    /// <summary>The receive buffer the kernel granted.</summary>
    internal int ReceiveBufferBytes => _socket.ReceiveBufferBytes;

    /// <summary>Decides whether the sender may speak on this group; <see cref="RejectReason.None"/> to accept.</summary>
    protected abstract RejectReason CheckSender(in NetlinkReceiveResult received);

    /// <summary>
    /// Called for each accepted event before it is handed on, in arrival order, on the loop's thread, with its
    /// properties (<paramref name="properties"/> indexed by <paramref name="bounds"/>, <see cref="PropertyBounds"/>,
    /// the known keys at <paramref name="keys"/>): it becomes a <see cref="Uevent"/> only when the consumer takes it.
    /// </summary>
    protected virtual void OnAccepted(ReadOnlySpan<byte> properties, ReadOnlySpan<int> bounds, in UeventKeySlots keys)
    {
    }

    protected void SignalOverflow(UeventOverflowKind kind, ulong missing) =>
        _overflows.Writer.TryWrite(new UeventOverflow(Kind, kind, missing, Stopwatch.GetTimestamp(), Counters.Accepted));

    protected ILogger Logger => _logger;

    [SkipLocalsInit]
    private void ReceiveLoop()
    {
        ReceiveThreadId = Gettid();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxDatagramBytes);
        Exception? failure = null;
        bool unexpected = false;
        try
        {
            // The kernel reports ENOBUFS before the datagrams still queued, and only once until the
            // queue has been emptied (NETLINK_S_CONGESTED): losses after the first are silent. So the
            // overflow is signalled when the queue is empty again, after every datagram from before
            // the loss has been handed on; a resync snapshot taken earlier would be overtaken by them.
            // The same holds for events this loop had to drop because the ring was full. The loop
            // never waits for the pipeline: only for the socket.
            bool overflowPending = false;
            bool socketOverran = false;
            // Set when the socket was empty and a datagram woke the loop: the first event after a
            // quiet spell may run an idle reader on this thread (UeventRing) before the loop reads on.
            // The ones read after it, while the loop drains the socket, never do.
            bool woken = false;
            // The index of a datagram's properties; on the stack unless the datagram is large (a pooled array, given back after it).
            Span<int> stackBounds = stackalloc int[UeventParser.MaxStackBounds];
            while (!_stopping)
            {
                if (!_socket.TryReceive(buffer, out NetlinkReceiveResult received))
                {
                    if (overflowPending)
                    {
                        overflowPending = false;
                        SignalOverflow(socketOverran ? UeventOverflowKind.ReceiveBufferOverrun : UeventOverflowKind.RingOverflow, 0);
                        socketOverran = false;
                    }
                    else if (!_socket.WaitReadable(_events.TrimIfEmpty() ? Timeout.Infinite : TrimRetryMilliseconds))
                    {
                        break;
                    }
                    else
                    {
                        woken = true;
                    }

                    continue;
                }

                bool first = woken;
                woken = false;

                if (received.Overflow)
                {
                    Counters.AddOverrun();
                    Log.ReceiveBufferOverrun(_logger, Kind);
                    overflowPending = true;
                    socketOverran = true;
                    continue;
                }

                Counters.AddReceived();
                long timestamp = Stopwatch.GetTimestamp();
                RejectReason reason = CheckSender(received);
                if (reason == RejectReason.None && received.Truncated)
                {
                    reason = RejectReason.Truncated;
                }

                // Checked and indexed here, exactly as a parse would (the rejects and the counters are the same);
                // made into a Uevent only when the consumer takes it from the ring.
                ReadOnlySpan<byte> datagram = buffer.AsSpan(0, received.Length);
                using var index = reason == RejectReason.None ? new UeventIndexBuffer(datagram.Length, stackBounds) : default;
                int start = 0, length = 0, count = 0;
                UeventKeySlots keys = default;
                if (reason == RejectReason.None)
                {
                    reason = UeventParser.TryIndex(datagram, Kind, index.Span, out start, out length, out count, out keys);
                }

                if (reason != RejectReason.None)
                {
                    Counters.Rejected.Increment(reason);
                    Log.UeventRejected(_logger, Kind, received.Length, received.SenderPid, received.Uid, reason);
                    _rejects.Writer.TryWrite(new UeventReject(Kind, reason, received.Length, received.SenderPid, received.HasCredentials ? received.Uid : uint.MaxValue, timestamp));
                    continue;
                }

                ReadOnlySpan<byte> properties = datagram.Slice(start, length);
                ReadOnlySpan<int> bounds = index.Span[..(2 * count)];
                OnAccepted(properties, bounds, keys);
                if (!_events.TryWrite(properties, bounds, keys, timestamp, _mayRunReader && first))
                {
                    // The ring is full: the pipeline is a whole ring behind. Waiting for it here would
                    // leave the socket to overrun and lose events silently; this one is dropped instead
                    // and the same resync as for an overrun follows, once the socket is empty.
                    Counters.AddRingOverflow();
                    Log.RingOverflow(_logger, Kind, _capacity);
                    overflowPending = true;
                    continue;
                }

                Counters.AddAccepted();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Log.UeventSourceFailed(_logger, Kind, e);
            failure = e;
        }
        catch (Exception e)
        {
            // A bug, not the socket: it still ends the stream (this thread has nobody to throw to),
            // and DisposeAsync rethrows it.
            failure = e;
            unexpected = true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _events.TryComplete(failure);
            _overflows.Writer.TryComplete();
            _rejects.Writer.TryComplete();
            if (unexpected)
            {
                _stopped.SetException(failure!);
            }
            else
            {
                _stopped.SetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        _socket.Interrupt();
        try
        {
            await _stopped.Task.ConfigureAwait(false);
        }
        finally
        {
            // The loop is done with the socket and its thread is only returning: wait for it, so
            // disposing leaves no thread behind.
            _thread.Join();
            _events.Dispose();
            await _socket.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "gettid")]
    private static partial int Gettid();
}
