namespace KvmUdevAgent.Core.Control;

/// <summary>The client could not talk to the daemon; <see cref="Reason"/> says why.</summary>
public sealed class ControlUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    public ControlUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ControlUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public ControlUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a reason, a message and an optional cause.</summary>
    public ControlUnavailableException(ControlUnavailableReason reason, string socketPath, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
        SocketPath = socketPath;
    }

    /// <summary>Why the daemon could not be reached.</summary>
    public ControlUnavailableReason Reason { get; }

    /// <summary>The socket path that was tried.</summary>
    public string SocketPath { get; } = string.Empty;
}
