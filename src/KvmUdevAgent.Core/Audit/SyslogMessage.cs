namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// One message before formatting: what varies per message. Facility, HOSTNAME, APP-NAME, PROCID
/// and the enterprise number are per-sink settings of <see cref="Rfc5424Formatter"/>.
/// Immutable once queued.
/// </summary>
internal sealed class SyslogMessage
{
    public required SyslogSeverity Severity { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>MSGID; null or empty writes NILVALUE.</summary>
    public string? MsgId { get; init; }

    /// <summary>SD elements in order; empty writes NILVALUE.</summary>
    public IReadOnlyList<SdElement> Elements { get; init; } = [];

    /// <summary>The human MSG; null or empty omits the MSG part.</summary>
    public string? Text { get; init; }
}
