namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// One look at a running migration, as QEMU reports it (<c>query-migrate</c>, or HMP's
/// <c>info migrate</c>): its status and the RAM counters. Sent to the CLI as progress lines.
/// </summary>
public sealed record MigrationProgress
{
    /// <summary>QEMU's migration status, verbatim: <c>setup</c>, <c>active</c>, <c>device</c>, <c>completed</c>, <c>failed</c>, <c>cancelled</c>, ...; <c>none</c> before any.</summary>
    public required string Status { get; init; }

    /// <summary>Guest RAM in bytes; 0 until QEMU knows it.</summary>
    public long TotalBytes { get; init; }

    /// <summary>Bytes sent so far.</summary>
    public long TransferredBytes { get; init; }

    /// <summary>RAM still to send, in bytes.</summary>
    public long RemainingBytes { get; init; }

    /// <summary>Milliseconds since the migration started, as QEMU counts them.</summary>
    public long TotalTimeMs { get; init; }

    /// <summary>QEMU's own error text for a failed migration; null otherwise.</summary>
    public string? Error { get; init; }

    /// <summary>Share of the RAM sent, 0-100 (as <c>virsh migrate --verbose</c> shows it).</summary>
    public int Percent => TotalBytes <= 0 ? (Status == MigrationStatuses.Completed ? 100 : 0)
        : (int)Math.Clamp((TotalBytes - RemainingBytes) * 100 / TotalBytes, 0, 100);
}
