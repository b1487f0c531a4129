namespace KvmUdevAgent.Core.Actions;

internal enum HookOutcome
{
    Unknown = 0,

    /// <summary>Exited by itself; see <see cref="HookResult.ExitCode"/> (0 is success).</summary>
    Exited,

    /// <summary>Killed by a signal it did not get from us; see <see cref="HookResult.Signal"/>.</summary>
    Signaled,

    /// <summary>Ran past its timeout; its process group was terminated.</summary>
    TimedOut,

    /// <summary>Refused before running (bad argv or environment) or the exec failed; see <see cref="HookResult.Error"/>.</summary>
    NotStarted,
}
