namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// QEMU answered a command with an error. <see cref="Class"/> is QMP's error class
/// (<c>GenericError</c>, <c>DeviceNotFound</c>, ...); decisions are made on it, never on the text.
/// Over HMP, which has no classes, the HMP connection maps the few answers it recognises to the
/// same classes (see <see cref="QmpErrorClasses"/>) and everything else to <c>GenericError</c>.
/// </summary>
internal sealed class QmpException : MonitorException
{
    public QmpException()
        : this(QmpErrorClasses.GenericError, "unknown error", null)
    {
    }

    public QmpException(string message)
        : this(QmpErrorClasses.GenericError, message, null)
    {
    }

    public QmpException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Description = message;
    }

    public QmpException(string errorClass, string description, string? command)
        : base(command is null ? description : command + ": " + description)
    {
        Class = errorClass;
        Description = description;
        Command = command;
    }

    /// <summary>QMP's error class, verbatim.</summary>
    public string Class { get; } = QmpErrorClasses.GenericError;

    /// <summary>QEMU's human-readable description, verbatim.</summary>
    public string Description { get; } = "";

    /// <summary>The command that failed, e.g. <c>device_add</c>.</summary>
    public string? Command { get; }
}
