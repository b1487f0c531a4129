namespace KvmUdevAgent.Core.Qemu;

/// <summary>The VM may not receive a device now (migrating, migrated away, held by <c>migrate</c>); the message says why.</summary>
internal sealed class VmNotAttachableException : MonitorException
{
    public VmNotAttachableException()
    {
    }

    public VmNotAttachableException(string message)
        : base(message)
    {
    }

    public VmNotAttachableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
