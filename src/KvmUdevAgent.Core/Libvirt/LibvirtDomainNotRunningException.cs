namespace KvmUdevAgent.Core.Libvirt;

/// <summary>The domain exists but is not running: it gets nothing now and is reconciled when libvirt says it started.</summary>
internal sealed class LibvirtDomainNotRunningException : LibvirtException
{
    public LibvirtDomainNotRunningException()
    {
    }

    public LibvirtDomainNotRunningException(string message)
        : base(message)
    {
    }

    public LibvirtDomainNotRunningException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public override bool IsUnavailable => true;
}
