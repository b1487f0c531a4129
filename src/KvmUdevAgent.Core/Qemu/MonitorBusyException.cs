namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// An on-demand monitor stayed taken by another client (a person's console, Proxmox's <c>qm</c>)
/// for the whole bounded wait. The action fails; the next probe reconciles the VM.
/// </summary>
internal sealed class MonitorBusyException : MonitorDisconnectedException
{
    public MonitorBusyException()
    {
    }

    public MonitorBusyException(string message)
        : base(message)
    {
    }

    public MonitorBusyException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
