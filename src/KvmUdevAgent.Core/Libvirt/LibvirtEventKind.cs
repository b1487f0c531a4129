namespace KvmUdevAgent.Core.Libvirt;

internal enum LibvirtEventKind
{
    Unknown = 0,
    /// <summary><c>VIR_DOMAIN_EVENT_ID_LIFECYCLE</c>; <see cref="LibvirtEvent.Code"/> is the <c>virDomainEventType</c>.</summary>
    Lifecycle,
    /// <summary><c>VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED</c>: the device left the guest and libvirt's live XML.</summary>
    DeviceRemoved,
    /// <summary><c>VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED</c>.</summary>
    DeviceRemovalFailed,
    /// <summary>The connection closed (libvirtd stopped, keepalive lost); <see cref="LibvirtEvent.Code"/> is the <c>virConnectCloseReason</c>.</summary>
    Closed,
}
