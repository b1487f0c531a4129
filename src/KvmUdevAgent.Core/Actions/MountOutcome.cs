namespace KvmUdevAgent.Core.Actions;

internal enum MountOutcome
{
    Unknown = 0,

    /// <summary>Mounted now.</summary>
    Mounted,

    /// <summary>The device was already mounted inside the base; nothing done (restart, repeated event).</summary>
    AlreadyMounted,

    /// <summary>Unmounted with a plain umount.</summary>
    Unmounted,

    /// <summary>Was busy; detached with <c>umount -l</c> and freed when its last user goes away.</summary>
    LazilyUnmounted,

    /// <summary>Nothing was mounted there (already gone): counts as success.</summary>
    NotMounted,

    /// <summary>Something other than the expected device is mounted there (the administrator's own mount): not unmounted.</summary>
    LeftAlone,

    /// <summary>Refused or failed; see <see cref="MountResult.Error"/>.</summary>
    Failed,
}
