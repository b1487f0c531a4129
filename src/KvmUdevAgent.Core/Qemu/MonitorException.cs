namespace KvmUdevAgent.Core.Qemu;

/// <summary>Base of every failure talking to a QEMU monitor.</summary>
internal class MonitorException : Vms.VmException
{
    public MonitorException()
    {
    }

    public MonitorException(string message)
        : base(message)
    {
    }

    public MonitorException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
