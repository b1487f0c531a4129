using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The bounded ring between a source's receive loop (the one writer, which only ever tries to write)
/// and its consumer. What waits is bytes (<see cref="UeventRingSlab"/>, outside the GC heap): an event
/// becomes a <see cref="Uevent"/> (one array and one copy: the slab keeps its buffer's very layout) only when
/// the consumer takes it, so a backlog is nothing the GC scans or copies (issue 15). A channel of record
/// positions carries the order and the consumer's wake-up. A consumer waiting on an empty ring is resumed on
/// the thread pool, as with any channel, except when the writer says the event may run the reader
/// (<see cref="TryWrite"/>): then it resumes on the writer's thread, inside the write, and the wake-up of
/// another thread is saved (issue 15: the first event after a quiet spell reaches the pipeline without a thread hop).
/// </summary>
/// <remarks>
/// The consumer then runs on the receive loop's thread up to its next wait for the ring (or any other
/// wait), so it must do nothing there that blocks; the loop goes back to the socket when it returns.
/// Completion, cancellation and failure always resume the consumer on the thread pool.
/// </remarks>
internal sealed class UeventRing : ChannelReader<Uevent>, IDisposable
{
    /// <summary>
    /// Record space per event of capacity: a kernel uevent is at most 2 KiB, a udev one of a USB device ~1.1 KiB
    /// with its index, so a full count of ordinary events fits.
    /// </summary>
    internal const int BytesPerEvent = 2048;

    /// <summary>Room for the largest datagram whatever the capacity (its record is under 0.5 MiB).</summary>
    internal const int MinBytes = 1024 * 1024;

    internal const int MaxBytes = 1024 * 1024 * 1024;

    private readonly UeventSource _source;
    private readonly UeventRingSlab _slab;
    private readonly Channel<long> _channel;
    private int _inlineThreadId;

    /// <summary>A ring for at most <paramref name="capacity"/> events of <paramref name="source"/>, in <see cref="BytesPerEvent"/> per event of record space (at least <see cref="MinBytes"/>, at most <see cref="MaxBytes"/>).</summary>
    public UeventRing(UeventSource source, int capacity)
        : this(source, capacity, (int)Math.Clamp((long)capacity * BytesPerEvent, MinBytes, MaxBytes))
    {
    }

    internal UeventRing(UeventSource source, int capacity, int bytes)
    {
        _source = source;
        _slab = new UeventRingSlab(bytes, capacity);
        // Unbounded: the slab bounds it. Synchronous continuations let a write resume a waiting reader on
        // the writer's thread; WaitToReadAsync below moves it to the thread pool unless the write allowed it.
        _channel = Channel.CreateUnbounded<long>(new UnboundedChannelOptions
        {
            SingleWriter = true,
            SingleReader = true,
            AllowSynchronousContinuations = true,
        });
    }

    public override Task Completion => _channel.Reader.Completion;

    public override bool CanCount => true;

    public override int Count => _slab.Count;

    /// <summary>The record space's memory, for tests.</summary>
    internal UeventRingSlab Slab => _slab;

    /// <summary>
    /// Adds the event whose <c>KEY=VALUE\0</c> bytes are <paramref name="properties"/>, indexed by
    /// <paramref name="bounds"/> with the known keys at <paramref name="keys"/> (<see cref="UeventParser.TryIndex"/>),
    /// unless the ring is full; never waits. With <paramref name="mayRunReader"/>, a consumer waiting on the
    /// empty ring runs on this thread before this returns.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> properties, ReadOnlySpan<int> bounds, in UeventKeySlots keys, long timestamp, bool mayRunReader)
    {
        if (!_slab.TryWrite(properties, bounds, keys, timestamp, out long position))
        {
            return false;
        }

        if (!mayRunReader)
        {
            return _channel.Writer.TryWrite(position);
        }

        _inlineThreadId = Environment.CurrentManagedThreadId;
        try
        {
            return _channel.Writer.TryWrite(position);
        }
        finally
        {
            _inlineThreadId = 0;
        }
    }

    /// <summary>Writer only, while idle: gives back the memory a backlog took once it is gone; false while it still waits.</summary>
    public bool TrimIfEmpty() => _slab.TrimIfEmpty();

    /// <summary>
    /// Ends the stream, with <paramref name="failure"/> if one stopped it. The events still waiting can be
    /// taken; the memory goes when the last of them is (or now, when none waits).
    /// </summary>
    public bool TryComplete(Exception? failure)
    {
        bool completed = _channel.Writer.TryComplete(failure);
        _slab.Dispose();
        return completed;
    }

    /// <summary>Ends the stream if the writer has not, as <see cref="TryComplete"/>. Idempotent.</summary>
    public void Dispose() => TryComplete(null);

    public override bool TryRead([MaybeNullWhen(false)] out Uevent item)
    {
        if (!_channel.Reader.TryRead(out long position))
        {
            item = null;
            return false;
        }

        _slab.Take(position, out byte[] buffer, out int count, out UeventKeySlots keys, out long timestamp);
        item = new Uevent(_source, buffer, count, keys, coldplug: false, timestamp);
        return true;
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        ValueTask<bool> wait = _channel.Reader.WaitToReadAsync(cancellationToken);
        return wait.IsCompletedSuccessfully ? wait : WaitAsync(wait);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitAsync(ValueTask<bool> wait)
    {
        bool available;
        try
        {
            available = await wait.ConfigureAwait(false);
        }
        catch
        {
            await Task.Yield();
            throw;
        }

        if (!available || _inlineThreadId != Environment.CurrentManagedThreadId)
        {
            // Not resumed by a write that allowed it: continue on the thread pool, as a plain channel would.
            await Task.Yield();
        }

        return available;
    }
}
