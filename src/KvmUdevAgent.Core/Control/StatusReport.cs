namespace KvmUdevAgent.Core.Control;

/// <summary>The result of the <c>status</c> verb; the daemon fills it, the CLI prints it (human or <c>--json</c>).</summary>
public sealed record StatusReport
{
    /// <summary>The agent's version (informational version of the executable).</summary>
    public required string Version { get; init; }

    /// <summary>The daemon's process id.</summary>
    public required int Pid { get; init; }

    /// <summary>When the daemon became ready.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Seconds since <see cref="StartedAt"/>, at the time of the answer.</summary>
    public required double UptimeSeconds { get; init; }

    /// <summary>The event source in use: <c>udev</c> or <c>kernel</c> (after <c>auto</c> was resolved).</summary>
    public required string Source { get; init; }

    /// <summary>True when the daemon runs with <c>--dry-run</c> and acts on nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>Number of enabled rules in the active rule set.</summary>
    public int Rules { get; init; }

    /// <summary>Generation of the active rule set (1 for the first load, +1 per successful reload).</summary>
    public long RulesGeneration { get; init; }

    /// <summary>Event counters since start.</summary>
    public required StatusCounters Counters { get; init; }

    /// <summary>Audit records that could not be delivered to syslog since start.</summary>
    public long AuditDropped { get; init; }

    /// <summary>Audit records waiting to be sent (a growing number means syslog is not taking them).</summary>
    public int AuditQueued { get; init; }

    /// <summary>The last error sending to syslog, while it lasts; null when the last send worked.</summary>
    public string? AuditError { get; init; }

    /// <summary>Devices attached to VMs now (from the state).</summary>
    public int Attachments { get; init; }

    /// <summary>Filesystems mounted now (from the state).</summary>
    public int Mounts { get; init; }

    /// <summary>The last state-file write error, or null when the state on disk is current.</summary>
    public string? StateError { get; init; }
}
