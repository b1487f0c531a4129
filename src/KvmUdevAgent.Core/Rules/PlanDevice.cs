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
    ulong SeqNum,
    string? Interfaces = null,
    string? InterfacesFrom = null,
    string? InterfacesProblem = null)
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
        device.Event.SeqNum,
        device.Identity.Interfaces.IsDefaultOrEmpty ? null : "[" + string.Join(", ", device.Identity.Interfaces) + "]",
        InterfaceSourceName(device.Identity.InterfacesSource),
        device.Identity.InterfacesProblem);

    /// <summary>How <c>test</c>, <c>monitor</c> and JSON name where the interfaces were read from.</summary>
    internal static string? InterfaceSourceName(Devices.UsbInterfaceSource source) => source switch
    {
        Devices.UsbInterfaceSource.UdevProperty => "ID_USB_INTERFACES",
        Devices.UsbInterfaceSource.Descriptors => "descriptors",
        Devices.UsbInterfaceSource.InterfaceChildren => "interface children",
        _ => null,
    };
}
