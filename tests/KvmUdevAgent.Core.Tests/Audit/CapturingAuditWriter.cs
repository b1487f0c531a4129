using KvmUdevAgent.Core.Audit;

namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>Collects committed records (for unit tests of record semantics, not of delivery).</summary>
internal sealed class CapturingAuditWriter : IAuditWriter
{
    private readonly List<AuditRecord> _records = [];

    public IReadOnlyList<AuditRecord> Records
    {
        get
        {
            lock (_records)
            {
                return [.. _records];
            }
        }
    }

    public void Write(AuditRecord record)
    {
        lock (_records)
        {
            _records.Add(record);
        }
    }
}
