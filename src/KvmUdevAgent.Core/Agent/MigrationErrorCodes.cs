namespace KvmUdevAgent.Core.Agent;

/// <summary>The <c>error.code</c> values the <c>migrate</c> verb adds to <see cref="Control.ControlErrorCodes"/>, verbatim.</summary>
public static class MigrationErrorCodes
{
    /// <summary>The VM's monitor does not answer (the VM is not running?).</summary>
    public const string Unavailable = "unavailable";

    /// <summary>The VM is already migrating (by this agent, or started elsewhere): try again when it has ended.</summary>
    public const string Conflict = "conflict";
}
