namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Which of the always-forced <c>nosuid,nodev,noexec</c> a rule lifts (<c>allow: [exec]</c>).
/// </summary>
[Flags]
internal enum MountAllow
{
    None = 0,
    Exec = 1,
    Suid = 2,
    Dev = 4,
}
