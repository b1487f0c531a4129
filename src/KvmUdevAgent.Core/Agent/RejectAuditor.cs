using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// Turns the source's drop counters into <c>source.reject</c> audit records: once a second at most
/// it looks for new drops, and writes one record with the counts per reason since the last one,
/// rate-limited so a flood of spoofed messages cannot flood syslog (the suppressed count rides on
/// the next record that is written).
/// </summary>
internal sealed class RejectAuditor(UeventSourceCounters counters, IAuditWriter audit)
{
    private readonly AuditRateLimiter _limiter = new(10, TimeSpan.FromMinutes(1));
    private readonly Dictionary<RejectReason, long> _reported = [];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Check();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Writes a record if anything was dropped since the last check (and the limiter allows).</summary>
    public void Check()
    {
        var fresh = new List<KeyValuePair<RejectReason, long>>();
        foreach ((RejectReason reason, long total) in counters.Rejected.NonZero)
        {
            long before = _reported.GetValueOrDefault(reason);
            if (total > before)
            {
                fresh.Add(new(reason, total - before));
            }
        }

        if (fresh.Count == 0 || !_limiter.TryAcquire(out long suppressed))
        {
            return;
        }

        foreach ((RejectReason reason, long _) in fresh)
        {
            _reported[reason] = counters.Rejected[reason];
        }

        using var record = new AuditRecord(audit, AuditTypes.SourceReject);
        record.Action = "drop";
        record.Severity = SyslogSeverity.Warning;
        foreach ((RejectReason reason, long count) in fresh)
        {
            record.Set(reason.ToString().ToLowerInvariant(), count);
        }

        record.Set("untrusted_total", counters.Untrusted);
        record.Set("malformed_total", counters.Malformed);
        record.Set(AuditKeys.Suppressed, suppressed);
        record.Message = $"dropped {fresh.Sum(f => f.Value)} netlink messages ({string.Join(", ", fresh.Select(f => $"{f.Key}: {f.Value}"))})";
        record.Succeed();
    }
}
