namespace KvmUdevAgent.Core.Qemu;

internal enum DetachResult
{
    Unknown = 0,
    /// <summary>Device (and its block node) removed.</summary>
    Detached,
    /// <summary>The device was not there (<c>DeviceNotFound</c>); any leftover node was removed.</summary>
    AlreadyGone,
    /// <summary>
    /// Unplug requested, but the guest has not acknowledged it within the timeout (a PCI device in
    /// a paused VM or a guest without ACPI hotplug). The block node is removed when QEMU reports the
    /// deletion, later, over the same connection.
    /// </summary>
    Pending,
}
