namespace KvmUdevAgent.Core.Qemu;

/// <summary>What <c>device_del</c> achieved.</summary>
internal enum DeviceDelResult
{
    Unknown = 0,
    /// <summary>QEMU confirmed the device is gone (<c>DEVICE_DELETED</c>, or it left the QOM tree).</summary>
    Removed,
    /// <summary>QEMU answered <c>DeviceNotFound</c>: it was already gone.</summary>
    NotFound,
    /// <summary>The unplug was requested but not finished within the timeout (a PCI device waiting for the guest).</summary>
    Pending,
}
