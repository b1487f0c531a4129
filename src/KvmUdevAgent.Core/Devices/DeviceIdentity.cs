using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// Who a device is, as far as the event and sysfs tell. Every string is device data and hostile:
/// stored raw, escaped only at the edge that uses it. Fields that do not apply are null.
/// For a block device that sits on USB, the USB fields describe that USB device.
/// </summary>
public sealed record DeviceIdentity
{
    /// <summary>USB idVendor / ID_VENDOR_ID.</summary>
    public UsbId? Vendor { get; init; }
    /// <summary>USB idProduct / ID_MODEL_ID.</summary>
    public UsbId? Product { get; init; }
    /// <summary>USB serial / ID_SERIAL_SHORT.</summary>
    public string? Serial { get; init; }
    /// <summary>USB manufacturer string / ID_VENDOR.</summary>
    public string? Manufacturer { get; init; }
    /// <summary>USB product string / ID_MODEL.</summary>
    public string? Model { get; init; }
    /// <summary>USB bus number (busnum).</summary>
    public int? BusNum { get; init; }
    /// <summary>USB device number on its bus (devnum); changes on every plug.</summary>
    public int? DevNum { get; init; }
    /// <summary>USB port path below the root hub, e.g. <c>1.4</c> for kernel name <c>2-1.4</c>; QEMU's <c>hostport</c>.</summary>
    public string? PortPath { get; init; }
    /// <summary>DEVPATH of the USB device (<c>usb_device</c>) this device is or sits on.</summary>
    public string? UsbDevPath { get; init; }
    /// <summary>USB interface classes as <c>cc:ss:pp</c> (lower-case hex), one per interface.</summary>
    public ImmutableArray<string> Interfaces { get; init; } = [];
    /// <summary>Where <see cref="Interfaces"/> was read from.</summary>
    public UsbInterfaceSource InterfacesSource { get; init; }
    /// <summary>
    /// Why <see cref="Interfaces"/> may be incomplete (damaged or unreadable descriptors), or null when
    /// it is complete. A list with a problem never satisfies an <c>interfaces</c> condition.
    /// </summary>
    public string? InterfacesProblem { get; init; }
    /// <summary>Kernel name of the device (<c>sdb</c>, <c>2-1.4</c>, <c>loop3</c>).</summary>
    public string? Kernel { get; init; }
    /// <summary>Device node, absolute (<c>/dev/sdb</c>), when it has one.</summary>
    public string? DevNode { get; init; }
    /// <summary>Block device size in bytes.</summary>
    public long? SizeBytes { get; init; }
    /// <summary>Block device <c>removable</c> attribute.</summary>
    public bool? Removable { get; init; }
    /// <summary>Filesystem label (ID_FS_LABEL, or blkid).</summary>
    public string? FsLabel { get; init; }
    /// <summary>Filesystem UUID (ID_FS_UUID, or blkid).</summary>
    public string? FsUuid { get; init; }
    /// <summary>Filesystem type (ID_FS_TYPE, or blkid).</summary>
    public string? FsType { get; init; }
    /// <summary>
    /// The event would have been probed with blkid (a block device, <c>source: kernel</c> or coldplug,
    /// no <c>ID_FS_*</c>), but no rule that could match it uses the filesystem: <see cref="FsLabel"/>,
    /// <see cref="FsUuid"/> and <see cref="FsType"/> are unknown rather than absent. Not part of equality.
    /// </summary>
    public bool FsProbeSkipped { get; init; }

    /// <summary>
    /// The interface list as <c>test</c>, <c>monitor</c> and the audit show it (<c>[08:06:50, 03:01:01]</c>),
    /// followed by why it cannot be trusted when it cannot; null when there is none.
    /// </summary>
    internal string? DescribeInterfaces()
    {
        string? list = Interfaces.IsDefaultOrEmpty ? null : "[" + string.Join(", ", Interfaces) + "]";
        return InterfacesProblem is { } problem ? (list ?? "[]") + " (incomplete: " + problem + ")" : list;
    }

    /// <summary>
    /// Value equality, with <see cref="Interfaces"/> compared element by element (ordinal); where the list
    /// was read from (<see cref="InterfacesSource"/>) does not count, only what it says.
    /// </summary>
    public bool Equals(DeviceIdentity? other) =>
        other is not null &&
        Vendor == other.Vendor && Product == other.Product &&
        string.Equals(Serial, other.Serial, StringComparison.Ordinal) &&
        string.Equals(Manufacturer, other.Manufacturer, StringComparison.Ordinal) &&
        string.Equals(Model, other.Model, StringComparison.Ordinal) &&
        BusNum == other.BusNum && DevNum == other.DevNum &&
        string.Equals(PortPath, other.PortPath, StringComparison.Ordinal) &&
        string.Equals(UsbDevPath, other.UsbDevPath, StringComparison.Ordinal) &&
        Interfaces.AsSpan().SequenceEqual(other.Interfaces.AsSpan()) &&
        string.Equals(InterfacesProblem, other.InterfacesProblem, StringComparison.Ordinal) &&
        string.Equals(Kernel, other.Kernel, StringComparison.Ordinal) &&
        string.Equals(DevNode, other.DevNode, StringComparison.Ordinal) &&
        SizeBytes == other.SizeBytes && Removable == other.Removable &&
        string.Equals(FsLabel, other.FsLabel, StringComparison.Ordinal) &&
        string.Equals(FsUuid, other.FsUuid, StringComparison.Ordinal) &&
        string.Equals(FsType, other.FsType, StringComparison.Ordinal);

    /// <summary>Hash over the identifying fields (vendor, product, serial, port, kernel name).</summary>
    public override int GetHashCode() => HashCode.Combine(Vendor, Product, Serial, PortPath, Kernel);
}
