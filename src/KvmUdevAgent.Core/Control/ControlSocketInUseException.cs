namespace KvmUdevAgent.Core.Control;

/// <summary>The control socket path is taken: another daemon answers on it, or it is not a socket. The daemon must not start.</summary>
public sealed class ControlSocketInUseException : IOException
{
    /// <summary>Creates the exception.</summary>
    public ControlSocketInUseException()
    {
    }

    /// <summary>Creates the exception with a message that names the path and what to do.</summary>
    public ControlSocketInUseException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public ControlSocketInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
