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

    /// <summary>Queued <c>change</c> events of a device replaced by a newer one before they ran (only the newest matters).</summary>
    public long Coalesced { get; init; }

    /// <summary>Events dropped from a device's full queue (each such device is then resynchronised from sysfs).</summary>
    public long QueueDropped { get; init; }
}
