namespace KvmUdevAgent.Core.Control;

/// <summary>A protocol line exceeded its bound.</summary>
internal sealed class ControlLineTooLongException : IOException
{
    public ControlLineTooLongException()
        : base("the line is too long")
    {
    }

    public ControlLineTooLongException(string message)
        : base(message)
    {
    }

    public ControlLineTooLongException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
