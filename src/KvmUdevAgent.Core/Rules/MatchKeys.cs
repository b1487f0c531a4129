using System.Collections.Frozen;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// The one table of match keys (style item 7): the loader, the validator, <c>rules show</c>, the
/// matcher and <c>docs/rules.md</c> all read it. A new key is one row here.
/// </summary>
internal static class MatchKeys
{
    public const string Action = "action";
    public const string Interfaces = "interfaces";
    public const string Attrs = "attrs";
    public const string Props = "props";

    /// <summary>The keys in documentation order (also the order <c>rules show</c> writes them).</summary>
    public static readonly KeySpec[] All =
    [
        new(Action, ValueKind.Action, true, false, 1, "ACTION",
            "The event's action. Without this key a rule applies on add and is reversed on remove.", "add",
            Text: static d => d.Event.ActionText),
        new("subsystem", ValueKind.Pattern, true, false, 1, "SUBSYSTEM", "Kernel subsystem.", "usb|block",
            Text: static d => d.Subsystem),
        new("devtype", ValueKind.Pattern, true, false, 1, "DEVTYPE", "Device type within the subsystem.", "disk|partition",
            Text: static d => d.DevType),
        new("kernel", ValueKind.Pattern, true, false, 1, "last DEVPATH segment", "Kernel device name.", "sd[a-z]1",
            Text: static d => d.Kernel),
        new("devpath", ValueKind.Pattern, true, false, 2, "DEVPATH", "Device path below the sysfs root.", "/devices/pci0000:00/*",
            Text: static d => d.DevPath),
        new("driver", ValueKind.Pattern, true, false, 2, "DRIVER or the driver link", "Bound driver.", "usb-storage",
            Text: static d => d.Driver,
            KnownAt: "`bind`: an `add` comes before the driver binds, so rules on it route at the `bind` when the `add` routed nothing"),
        new("vendor", ValueKind.HexId, true, false, 1, "idVendor / ID_VENDOR_ID", "USB vendor id, four hex digits.", "058f",
            Id: static d => d.Identity.Vendor, KnownAt: "`add` (the device descriptor is read before the device is announced)"),
        new("product", ValueKind.HexId, true, false, 1, "idProduct / ID_MODEL_ID", "USB product id, four hex digits.", "6387",
            Id: static d => d.Identity.Product, KnownAt: "`add` (the device descriptor is read before the device is announced)"),
        new("serial", ValueKind.Pattern, true, false, 2, "serial / ID_SERIAL_SHORT", "USB serial number.", "576B63C4",
            Text: static d => d.Identity.Serial, KnownAt: "`add` (the string descriptors are read before the device is announced)"),
        new("fs_label", ValueKind.Pattern, true, false, 2, "ID_FS_LABEL", "Filesystem label.", "BACKUP*",
            Text: static d => d.Identity.FsLabel, KnownAt: "`add` of the disk or partition (blkid); a medium put in later: its `change`"),
        new("fs_uuid", ValueKind.Pattern, true, false, 2, "ID_FS_UUID", "Filesystem UUID.", "1234-ABCD",
            Text: static d => d.Identity.FsUuid, KnownAt: "`add` of the disk or partition (blkid); a medium put in later: its `change`"),
        new("fs_type", ValueKind.Pattern, true, false, 2, "ID_FS_TYPE", "Filesystem type.", "vfat|exfat|ext4",
            Text: static d => d.Identity.FsType, KnownAt: "`add` of the disk or partition (blkid); a medium put in later: its `change`"),
        new(Interfaces, ValueKind.InterfaceList, false, false, 5, "ID_USB_INTERFACES or the `descriptors` attribute",
            "USB interface classes cc:ss:pp; every interface must match one pattern (refuses composite BadUSB devices).", "[\"08:*:*\"]",
            KnownAt: "`add` (the `descriptors` attribute; damaged descriptors never match)"),
        new(Props, ValueKind.PropertyMap, true, false, 6, "event properties",
            "Event (udev) properties by name.", "{ ID_BUS: usb }", KnownAt: "the event itself; `ID_*` only with `source: udev`"),
        new(Attrs, ValueKind.AttributeMap, true, true, 20, "sysfs attributes",
            "sysfs attributes of the device or one parent; all keys must match on the same device, as udev's ATTRS{}.", "{ removable: \"1\" }",
            KnownAt: "`add`, except a `usb_device`'s `bConfigurationValue`, `bNumInterfaces`, `bmAttributes`, `bMaxPower`: empty until `bind`, so such rules route at the `bind`"),
    ];

    public static readonly FrozenDictionary<string, KeySpec> ByName = All.ToFrozenDictionary(k => k.Name, StringComparer.Ordinal);

    public static readonly string[] Names = [.. All.Select(k => k.Name)];

    /// <summary>
    /// The keys (and template names) whose values come from the filesystem on the device: with
    /// <c>source: kernel</c> they cost a blkid probe, run only for an event a rule using them can still match.
    /// </summary>
    public static readonly FrozenSet<string> Filesystem = FrozenSet.ToFrozenSet(["fs_label", "fs_uuid", "fs_type"], StringComparer.Ordinal);

    /// <summary>The keys read from the event alone (no sysfs, no probe): enough to tell that no rule can match it.</summary>
    public static readonly FrozenSet<string> EventOnly = FrozenSet.ToFrozenSet([Action, "subsystem", "devtype", "kernel", "devpath"], StringComparer.Ordinal);
}
