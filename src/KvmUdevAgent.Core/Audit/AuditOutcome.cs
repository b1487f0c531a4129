namespace KvmUdevAgent.Core.Audit;

/// <summary>How a decision ended. Written as <c>outcome="success"</c> / <c>"failure"</c>.</summary>
internal enum AuditOutcome
{
    /// <summary>Never written; a record starts as <see cref="Failure"/>.</summary>
    Unknown = 0,
    Success,
    Failure,
}
