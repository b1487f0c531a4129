using System.Threading.Channels;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The events of one QMP connection that nobody has read yet, bounded by number and by bytes, so a
/// hostile or broken QEMU cannot make the agent hold more than <see cref="MaxBytes"/> of them
/// (issue 17: 256 unread events of 4 MiB each once held 1.4 GB). The oldest go first; what is
/// dropped is counted. Waits registered with <see cref="QmpConnection.WaitForEvent"/> see every
/// event whether or not it is kept here. One writer (the connection's read loop), any readers.
/// </summary>
internal sealed class QmpEventBuffer : ChannelReader<QmpEvent>
{
    /// <summary>Most events kept.</summary>
    public const int MaxEvents = 256;

    /// <summary>Most bytes of events kept, counted as the length of their JSON lines.</summary>
    public const int MaxBytes = 1024 * 1024;

    private readonly Channel<(QmpEvent Event, int Bytes)> _channel = Channel.CreateUnbounded<(QmpEvent, int)>(new UnboundedChannelOptions { SingleWriter = true });
    private long _bytes;
    private long _dropped;
    private long _droppedBytes;

    /// <summary>Events dropped unread since the connection opened.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Bytes of the events dropped unread.</summary>
    public long DroppedBytes => Interlocked.Read(ref _droppedBytes);

    public override Task Completion => _channel.Reader.Completion;

    public override bool CanCount => true;

    public override int Count => _channel.Reader.Count;

    /// <summary>Keeps <paramref name="qmpEvent"/> (whose line was <paramref name="bytes"/> long), dropping the oldest until both bounds hold.</summary>
    public void Add(QmpEvent qmpEvent, int bytes)
    {
        if (bytes > MaxBytes)
        {
            Drop(bytes);
            return;
        }

        Interlocked.Add(ref _bytes, bytes);
        _channel.Writer.TryWrite((qmpEvent, bytes));
        while ((Interlocked.Read(ref _bytes) > MaxBytes || _channel.Reader.Count > MaxEvents) && TryTake(out (QmpEvent Event, int Bytes) oldest))
        {
            Drop(oldest.Bytes);
        }
    }

    /// <summary>No more events: readers finish once they have read what is kept.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    public override bool TryRead(out QmpEvent item)
    {
        if (TryTake(out (QmpEvent Event, int Bytes) taken))
        {
            item = taken.Event;
            return true;
        }

        item = null!;
        return false;
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => _channel.Reader.WaitToReadAsync(cancellationToken);

    private bool TryTake(out (QmpEvent Event, int Bytes) taken)
    {
        if (!_channel.Reader.TryRead(out taken))
        {
            return false;
        }

        Interlocked.Add(ref _bytes, -taken.Bytes);
        return true;
    }

    private void Drop(int bytes)
    {
        Interlocked.Increment(ref _dropped);
        Interlocked.Add(ref _droppedBytes, bytes);
    }
}
