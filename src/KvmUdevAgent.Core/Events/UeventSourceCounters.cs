namespace KvmUdevAgent.Core.Events;

/// <summary>Counts kept by a source; every property is safe to read from any thread while it runs.</summary>
public sealed class UeventSourceCounters
{
    private long _received;
    private long _accepted;
    private long _overruns;
    private long _sequenceGapEvents;
    private long _ringOverflows;

    /// <summary>Datagrams read from the socket, accepted or not.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Events passed on to <see cref="IUeventSource.Events"/>.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Dropped datagrams by reason.</summary>
    public RejectCounters Rejected { get; } = new();

    /// <summary>Datagrams dropped because the sender was not trusted (spoofed kernel message, non-root or unidentified udev sender).</summary>
    public long Untrusted => Rejected.Untrusted;

    /// <summary>Datagrams dropped as malformed.</summary>
    public long Malformed => Rejected.Malformed;

    /// <summary>Receive-buffer overruns (<c>ENOBUFS</c>): each one stands for one or more lost datagrams.</summary>
    public long Overruns => Interlocked.Read(ref _overruns);

    /// <summary>Events dropped because the ring between the receive loop and the pipeline was full.</summary>
    public long RingOverflows => Interlocked.Read(ref _ringOverflows);

    /// <summary>Events known to be missing from <c>SEQNUM</c> gaps (kernel source only).</summary>
    public long SequenceGapEvents => Interlocked.Read(ref _sequenceGapEvents);

    internal void AddReceived() => Interlocked.Increment(ref _received);

    internal void AddAccepted() => Interlocked.Increment(ref _accepted);

    internal void AddOverrun() => Interlocked.Increment(ref _overruns);

    internal void AddRingOverflow() => Interlocked.Increment(ref _ringOverflows);

    internal void AddSequenceGap(ulong missing) => Interlocked.Add(ref _sequenceGapEvents, (long)Math.Min(missing, long.MaxValue));
}
