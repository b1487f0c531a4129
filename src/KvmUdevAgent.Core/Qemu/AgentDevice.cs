namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A <c>kua-</c> device as QEMU reports it (<c>qom-list</c> + <c>qom-get</c>), not as the agent
/// remembers it. Properties that do not apply to the driver are null.
/// </summary>
internal sealed record AgentDevice(string Id, string Driver)
{
    public int? HostBus { get; init; }
    public string? HostPort { get; init; }
    /// <summary>usb-host <c>vendorid</c>, four lower-case hex digits.</summary>
    public string? VendorId { get; init; }
    public string? ProductId { get; init; }
    /// <summary>The block node or drive the device uses (<c>drive</c> property); empty once the backend is gone.</summary>
    public string? Drive { get; init; }
}
