namespace KvmUdevAgent.Core.Control;

/// <summary>Thrown by an <see cref="IControlHandler"/> to answer with a specific error instead of <see cref="ControlErrorCodes.Internal"/>.</summary>
public sealed class ControlException : Exception
{
    /// <summary>Creates an error with code <see cref="ControlErrorCodes.Failed"/>.</summary>
    public ControlException()
        : this(ControlErrorCodes.Failed, "the operation failed")
    {
    }

    /// <summary>Creates an error with code <see cref="ControlErrorCodes.Failed"/>.</summary>
    public ControlException(string message)
        : this(ControlErrorCodes.Failed, message)
    {
    }

    /// <summary>Creates an error with code <see cref="ControlErrorCodes.Failed"/> and its cause.</summary>
    public ControlException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = ControlErrorCodes.Failed;
    }

    /// <summary>Creates an error with the given code (one of <see cref="ControlErrorCodes"/>).</summary>
    public ControlException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>The <c>error.code</c> to answer with.</summary>
    public string Code { get; }
}
