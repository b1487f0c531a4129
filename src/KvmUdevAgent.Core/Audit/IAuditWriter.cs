namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// Where committed audit records go. <see cref="Write"/> never blocks and never throws for a
/// delivery problem: a record that cannot be queued is dropped and counted.
/// Callers do not call <see cref="Write"/> themselves; they dispose an <see cref="AuditRecord"/>.
/// </summary>
internal interface IAuditWriter
{
    /// <summary>Takes a committed (frozen) record. Non-blocking; thread-safe.</summary>
    void Write(AuditRecord record);

    /// <summary>False when every record is thrown away (audit off): a caller may skip building one.</summary>
    bool IsEnabled => true;
}
