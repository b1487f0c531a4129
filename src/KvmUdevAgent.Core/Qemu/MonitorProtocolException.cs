namespace KvmUdevAgent.Core.Qemu;

/// <summary>The peer does not speak the expected protocol (bad greeting, malformed JSON, wrong protocol forced in the config).</summary>
internal sealed class MonitorProtocolException : MonitorException
{
    public MonitorProtocolException()
    {
    }

    public MonitorProtocolException(string message)
        : base(message)
    {
    }

    public MonitorProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
