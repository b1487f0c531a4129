namespace KvmUdevAgent.Core.Audit;

/// <summary>Counters of one syslog queue, for <c>status</c>. <paramref name="Queued"/> includes the message being sent.</summary>
internal sealed record SyslogQueueStatus(string Target, long Enqueued, long Sent, long Dropped, long SendFailures, int Queued, string? LastError);
