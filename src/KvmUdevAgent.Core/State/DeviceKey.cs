using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.State;

/// <summary>
/// Which device a state record is about: its DEVPATH plus an identity summary, so that a record
/// can be matched to the device after a restart even when the kernel reuses the DEVPATH for
/// another device on the same port. Strings are device data (hostile) and stored raw.
/// </summary>
public sealed record DeviceKey
{
    /// <summary>Kernel DEVPATH at the time of the action (required), e.g. <c>/devices/pci0000:00/…/2-1.4</c>.</summary>
    public required string DevPath { get; init; }

    /// <summary>USB vendor id, when the device is or sits on a USB device.</summary>
    public UsbId? Vendor { get; init; }

    /// <summary>USB product id, when the device is or sits on a USB device.</summary>
    public UsbId? Product { get; init; }

    /// <summary>USB serial string; null when the device has none.</summary>
    public string? Serial { get; init; }

    /// <summary>USB bus number (QEMU <c>hostbus</c>).</summary>
    public int? BusNum { get; init; }

    /// <summary>USB port path below the root hub (QEMU <c>hostport</c>), e.g. <c>1.4</c>.</summary>
    public string? PortPath { get; init; }

    /// <summary>The key of a device from its DEVPATH and what is known about it.</summary>
    public static DeviceKey From(string devPath, DeviceIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new DeviceKey
        {
            DevPath = devPath,
            Vendor = identity.Vendor,
            Product = identity.Product,
            Serial = identity.Serial,
            BusNum = identity.BusNum,
            PortPath = identity.PortPath,
        };
    }
}
