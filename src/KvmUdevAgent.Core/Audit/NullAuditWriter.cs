namespace KvmUdevAgent.Core.Audit;

/// <summary>The writer for <c>audit: { syslog: off }</c>, and for code paths that do not audit (CLI <c>test</c>).</summary>
internal sealed class NullAuditWriter : IAuditWriter
{
    public static readonly NullAuditWriter Instance = new();

    private NullAuditWriter()
    {
    }

    public bool IsEnabled => false;

    public void Write(AuditRecord record)
    {
    }
}
