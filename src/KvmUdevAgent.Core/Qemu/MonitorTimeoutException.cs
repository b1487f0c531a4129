namespace KvmUdevAgent.Core.Qemu;

/// <summary>QEMU did not answer (or the awaited event did not come) within the timeout.</summary>
internal sealed class MonitorTimeoutException : MonitorException
{
    public MonitorTimeoutException()
        : base("The QEMU monitor did not answer in time.")
    {
    }

    public MonitorTimeoutException(string message)
        : base(message)
    {
    }

    public MonitorTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
