namespace KvmUdevAgent.Core.State;

/// <summary>
/// Writing the state file failed (disk full, read-only file system, permissions). The in-memory
/// state is still correct and the previous file is left as it was.
/// </summary>
public sealed class StateWriteException : IOException
{
    /// <summary>Creates the exception.</summary>
    public StateWriteException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StateWriteException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the I/O error behind it.</summary>
    public StateWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
