namespace KvmUdevAgent.Core.Control;

/// <summary>Event counters since the daemon started.</summary>
public sealed record StatusCounters
{
    /// <summary>Events accepted from the source (coldplug included).</summary>
    public long Events { get; init; }

    /// <summary>Events that matched at least one rule.</summary>
    public long Matched { get; init; }

    /// <summary>Actions carried out successfully.</summary>
    public long Acted { get; init; }

    /// <summary>Actions that failed.</summary>
    public long Failed { get; init; }

    /// <summary>Messages dropped by the source (malformed, spoofed, overflow).</summary>
    public long Dropped { get; init; }
}
