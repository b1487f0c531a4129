namespace KvmUdevAgent.Core.Libvirt;

/// <summary>No connection to libvirtd right now; the connection keeps retrying and a reconcile follows when it is back.</summary>
internal sealed class LibvirtDisconnectedException : LibvirtException
{
    public LibvirtDisconnectedException()
    {
    }

    public LibvirtDisconnectedException(string message)
        : base(message)
    {
    }

    public LibvirtDisconnectedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public override bool IsUnavailable => true;
}
