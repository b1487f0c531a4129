namespace KvmUdevAgent.Core.Libvirt;

/// <summary><c>libvirt.so.0</c> cannot be loaded: the message names the Debian package to install.</summary>
internal sealed class LibvirtUnavailableException : LibvirtException
{
    public LibvirtUnavailableException()
    {
    }

    public LibvirtUnavailableException(string message)
        : base(message)
    {
    }

    public LibvirtUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
