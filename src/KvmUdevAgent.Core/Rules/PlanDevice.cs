namespace KvmUdevAgent.Core.Rules;

/// <summary>The event and device identity a plan was made for, as the audit and <c>test</c> print them.</summary>
internal sealed record PlanDevice(
    string Action,
    string DevPath,
    string Subsystem,
    string? DevType,
    string Kernel,
    string? Vendor,
    string? Product,
    string? Serial,
    string? FsLabel,
    string? FsUuid,
    bool Coldplug,
    ulong SeqNum)
{
    public static PlanDevice From(Devices.DeviceView device) => new(
        device.Event.ActionText,
        device.DevPath,
        device.Subsystem,
        device.DevType,
        device.Kernel,
        device.Identity.Vendor?.ToString(),
        device.Identity.Product?.ToString(),
        device.Identity.Serial,
        device.Identity.FsLabel,
        device.Identity.FsUuid,
        device.Event.Coldplug,
        device.Event.SeqNum);
}
