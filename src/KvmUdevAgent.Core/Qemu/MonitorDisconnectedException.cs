namespace KvmUdevAgent.Core.Qemu;

/// <summary>The monitor connection is closed (QEMU exited, or it was never connected); the command's outcome is unknown.</summary>
internal class MonitorDisconnectedException : MonitorException
{
    public MonitorDisconnectedException()
        : base("The QEMU monitor is not connected.")
    {
    }

    public MonitorDisconnectedException(string message)
        : base(message)
    {
    }

    public MonitorDisconnectedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public override bool IsUnavailable => true;
}
