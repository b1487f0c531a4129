namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A <c>kua-</c> device as QEMU reports it (<c>qom-list</c> + <c>qom-get</c>), not as the agent
/// remembers it. Properties that do not apply to the driver are null.
/// </summary>
/// <param name="Id">The agent-made id (<c>kua-...</c>).</param>
/// <param name="Driver">QEMU's device type: <c>usb-host</c>, <c>usb-storage</c>, <c>virtio-blk-pci</c>.</param>
public sealed record AgentDevice(string Id, string Driver)
{
    /// <summary>usb-host <c>hostbus</c>.</summary>
    public int? HostBus { get; init; }
    /// <summary>usb-host <c>hostport</c> (port path, e.g. <c>1.4</c>).</summary>
    public string? HostPort { get; init; }
    /// <summary>usb-host <c>vendorid</c>, four lower-case hex digits.</summary>
    public string? VendorId { get; init; }
    /// <summary>usb-host <c>productid</c>, four lower-case hex digits.</summary>
    public string? ProductId { get; init; }
    /// <summary>The block node or drive the device uses (<c>drive</c> property); empty once the backend is gone.</summary>
    public string? Drive { get; init; }
}
