namespace KvmUdevAgent.Core.Control;

/// <summary>Who may use a verb.</summary>
public enum ControlVerbAccess
{
    /// <summary>Not a known verb.</summary>
    Unknown = 0,

    /// <summary>Root, or a member of the configured control group.</summary>
    ReadOnly,

    /// <summary>Root only: the verb changes what the agent does or has done.</summary>
    Mutating,
}
