using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>
/// Issue 15 changed how the device view reads the event (known-key ids, ids and PRODUCT from the bytes,
/// a cache of parsed ID_USB_INTERFACES, the USB device cache asked once): the view must be what the code
/// before made of the same events, in the same order, over the same sysfs tree. The code before is
/// kept below as it was (main 402653d), reading by key name.
/// </summary>
public sealed class DeviceViewFactoryPropertyTests : IDisposable
{
    private static readonly string[] s_keys =
    [
        UeventKeys.Product, UeventKeys.IdVendorId, UeventKeys.IdUsbVendorId, UeventKeys.IdModelId, UeventKeys.IdUsbModelId,
        UeventKeys.IdSerialShort, UeventKeys.IdUsbSerialShort, UeventKeys.IdVendor, UeventKeys.IdVendorEnc, UeventKeys.IdModel,
        UeventKeys.IdModelEnc, UeventKeys.IdUsbInterfaces, UeventKeys.IdFsLabel, UeventKeys.IdFsLabelEnc, UeventKeys.IdFsUuid,
        UeventKeys.IdFsUuidEnc, UeventKeys.IdFsType, UeventKeys.BusNum, UeventKeys.DevNum, UeventKeys.DevName, UeventKeys.Driver,
        UeventKeys.DevType, "ID_VENDOR_I", "PRODUCTS", "MAJOR",
    ];

    private static readonly Gen<byte[]> s_value = Gen.Frequency(
        (1, Gen.Const(Array.Empty<byte>())),
        (6, Gen.OneOf(
            "058f", "058F", "6387", "abcd", "58f", "ab", "12345", "+123", " 12a", "0x12", "g000",
            "58f/6387/100", "ABCD/1/0", "/6387/", "58f//", "58f", "12345/1/2", "58f/63 87/1", "58f/6387", "0/0/0",
            ":080650:", ":080650", ":080650:030101:080650:", ":0806:", ":08065G:", ":ABCDEF:abcdef:", ":", "::",
            "005", "5", "007", "-1", "99999999999", "/dev/sdb", "bus/usb/002/005", "/dev/../etc", "usb", "usb-storage",
            "Generic\x20Flash", "\xff\x00", "FLASH", "vfat", "usb_device", "usb_interface", "disk", "partition").Select(Encoding.UTF8.GetBytes)),
        (2, Gen.Byte[1, 255].Array[0, 10]),
        (1, Gen.Select(Gen.OneOf("5", "58f", ":0806", "ab"), Gen.Byte[0x80, 0xff]).Select((t, b) => (byte[])[.. Encoding.ASCII.GetBytes(t), b])));

    private readonly SysfsFixture _fixture = new();
    private readonly string[] _devPaths;

    public DeviceViewFactoryPropertyTests()
    {
        var seed = _fixture.AddSeedFlashDrive();
        var composite = _fixture.AddCompositeFlashKeyboard();
        _devPaths =
        [
            .. seed.All.Select(n => n.DevPath), .. composite.All.Select(n => n.DevPath),
            seed.UsbDevice.DevPath[..seed.UsbDevice.DevPath.LastIndexOf('/')] + "/2-9", "/devices/virtual/block/loop0", "/devices/x/../y",
        ];
    }

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public void Create_AnyEvents_ViewsAsBefore()
    {
        Gen<(byte[] Key, byte[] Value)> property = Gen.Select(Gen.OneOf(s_keys).Select(Encoding.ASCII.GetBytes), s_value);
        Gen<Uevent> uevent = Gen.Select(
                Gen.OneOf(_devPaths), Gen.OneOf("add", "change", "remove", "bind"), Gen.OneOf("usb", "block", "scsi", "input"),
                Gen.Bool, property.List[0, 14], Gen.OneOf(UeventSource.Udev, UeventSource.Kernel, UeventSource.Replay))
            .Select((devPath, action, subsystem, coldplug, properties, source) =>
            {
                var builder = new UeventBuilder();
                builder.TryAdd("ACTION"u8, Encoding.ASCII.GetBytes(action));
                builder.TryAdd("DEVPATH"u8, Encoding.ASCII.GetBytes(devPath));
                builder.TryAdd("SUBSYSTEM"u8, Encoding.ASCII.GetBytes(subsystem));
                foreach (var (key, value) in properties)
                {
                    builder.TryAdd(key, value);
                }

                return builder.Build(source, coldplug, 0);
            });

        uevent.List[1, 12].Sample(events =>
        {
            // Each sequence from empty caches, the factory's and the one the code before reads.
            var cached = new DeviceViewFactory(_fixture.Root, cacheUsbDevices: true);
            var uncached = new DeviceViewFactory(_fixture.Root);
            var before = new UsbDeviceCache(_fixture.Root);
            foreach (Uevent e in events)
            {
                _ = before.Observe(e);
                AssertSame(ViewBefore(e, before), cached.Create(e));
                AssertSame(ViewBefore(e, null), uncached.Create(e));
            }
        }, iter: 2_000);
    }

    private static void AssertSame(DeviceView expected, DeviceView actual)
    {
        Assert.Equal(expected.Identity, actual.Identity);
        Assert.Equal(expected.Identity.InterfacesSource, actual.Identity.InterfacesSource);
        Assert.Equal(expected.Sysfs?.DevPath, actual.Sysfs?.DevPath);
        Assert.Equal(expected.Kernel, actual.Kernel);
        Assert.Equal(expected.Driver, actual.Driver);
    }

    // DeviceViewFactory.Create and OpenSysfs before issue 15's sixth round (without a remembered identity).
    private DeviceView ViewBefore(Uevent uevent, UsbDeviceCache? usbDevices)
    {
        SysfsDevice? sysfs = null;
        if (!(uevent.Action == UeventAction.Remove || uevent.Source == UeventSource.Replay ||
            !uevent.DevPath.StartsWith("/devices/", StringComparison.Ordinal) || uevent.DevPath.Contains("/..", StringComparison.Ordinal)))
        {
            var device = new SysfsDevice(_fixture.Root, uevent.DevPath);
            sysfs = usbDevices?.Holds(uevent.DevPath) == true || device.Exists ? device : null;
        }

        return new DeviceView(uevent, BuildIdentityBefore(uevent, sysfs, usbDevices), sysfs);
    }

    private static DeviceIdentity BuildIdentityBefore(Uevent e, SysfsDevice? sysfs, UsbDeviceCache? usbDevices)
    {
        // USB device names (B-P.P under usbB) are unambiguous, so the usb_device is found from the
        // DEVPATH itself: one directory check instead of a subsystem/DEVTYPE read per parent level.
        string? usbDevPath = UsbKernelName.FindUsbDevicePath(e.DevPath);
        SysfsDevice? usb = sysfs is null || usbDevPath is null ? null
            : usbDevices is not null ? usbDevices.Get(usbDevPath)
            : new SysfsDevice(sysfs.SysfsRoot, usbDevPath) is { Exists: true } fresh ? fresh : null;
        int? bus = null;
        string? portPath = null;
        if (usbDevPath is not null && UsbKernelName.TryParse(usbDevPath.AsSpan(usbDevPath.LastIndexOf('/') + 1), out int b, out string? p))
        {
            bus = b;
            portPath = p;
        }

        bool isUsbDeviceEvent = e.Subsystem == "usb" && e.DevType == "usb_device";
        string? product = e.Subsystem == "usb" ? e.GetString(UeventKeys.Product) : null;

        string? devName = e.GetString(UeventKeys.DevName) ?? sysfs?.GetUeventProperty(UeventKeys.DevName);
        string? devNode = DeviceNode.TryNormalize(devName, out string? node, out _) ? node : null;

        long? size = null;
        bool? removable = null;
        if (e.Subsystem == "block" && sysfs is not null)
        {
            size = long.TryParse(sysfs.GetAttribute("size"), NumberStyles.None, CultureInfo.InvariantCulture, out long sectors) && sectors <= long.MaxValue / 512 ? sectors * 512 : null;
            // A partition has no "removable" of its own; udev rules read the disk's.
            SysfsDevice? disk = e.DevType == "partition" ? sysfs.Parent : sysfs;
            removable = disk?.GetAttribute("removable") switch
            {
                "1" => true,
                "0" => false,
                _ => null,
            };
        }

        var interfaces = InterfacesFrom(e.GetString(UeventKeys.IdUsbInterfaces), usb, usbDevices);
        return new DeviceIdentity
        {
            Vendor = UsbIdFrom(e, UeventKeys.IdVendorId, UeventKeys.IdUsbVendorId, usb, "idVendor", product, 0),
            Product = UsbIdFrom(e, UeventKeys.IdModelId, UeventKeys.IdUsbModelId, usb, "idProduct", product, 1),
            // The raw sysfs serial first: ID_SERIAL_SHORT is udev's "safe" form (whitespace runs become
            // "_", and serials with control or non-ASCII bytes are dropped), so taking it first would
            // make the same drive match differently with source: udev and source: kernel.
            Serial = usb is not null ? usb.GetAttribute("serial") : e.GetString(UeventKeys.IdSerialShort) ?? e.GetString(UeventKeys.IdUsbSerialShort),
            // udevd's ID_VENDOR/ID_MODEL on a mass-storage disk are the SCSI inquiry strings, and its
            // "safe" forms replace spaces; the USB strings themselves are read from sysfs, and only a
            // usb_device event without sysfs falls back to decoding ID_VENDOR_ENC/ID_MODEL_ENC.
            Manufacturer = usb is not null ? usb.GetAttribute("manufacturer") : isUsbDeviceEvent ? Encoded(e, UeventKeys.IdVendorEnc, UeventKeys.IdVendor) : null,
            Model = usb is not null ? usb.GetAttribute("product") : isUsbDeviceEvent ? Encoded(e, UeventKeys.IdModelEnc, UeventKeys.IdModel) : null,
            BusNum = (isUsbDeviceEvent ? e.GetDecimal(UeventKeys.BusNum) : null) ?? IntFrom(usb?.GetAttribute("busnum")) ?? bus,
            DevNum = (isUsbDeviceEvent ? e.GetDecimal(UeventKeys.DevNum) : null) ?? IntFrom(usb?.GetAttribute("devnum")),
            PortPath = portPath,
            UsbDevPath = usbDevPath,
            Interfaces = interfaces.List,
            InterfacesSource = interfaces.Source,
            InterfacesProblem = interfaces.Problem,
            Kernel = e.KernelName,
            DevNode = devNode,
            SizeBytes = size,
            Removable = removable,
            FsLabel = Encoded(e, UeventKeys.IdFsLabelEnc, UeventKeys.IdFsLabel),
            FsUuid = Encoded(e, UeventKeys.IdFsUuidEnc, UeventKeys.IdFsUuid),
            FsType = e.GetString(UeventKeys.IdFsType),
        };
    }

    private static UsbId? UsbIdFrom(Uevent e, string key, string usbKey, SysfsDevice? usb, string attribute, string? product, int productField)
    {
        // A property that is present decides, even when it does not parse: a bogus ID_VENDOR_ID
        // leaves the id unknown rather than quietly taking another source's word.
        string? text = e.GetString(key) ?? e.GetString(usbKey);
        if (text is not null)
        {
            return UsbId.TryParse(text, out UsbId id, out _) ? id : null;
        }

        if (usb is not null)
        {
            return UsbId.TryParse(usb.GetAttribute(attribute), out UsbId id, out _) ? id : null;
        }

        // PRODUCT is "vid/pid/bcd" in unpadded lower-case hex ("58f/6387/100").
        if (product is not null)
        {
            int field = 0;
            foreach (Range r in product.AsSpan().Split('/'))
            {
                if (field++ == productField)
                {
                    ReadOnlySpan<char> hex = product.AsSpan()[r];
                    return hex.Length is >= 1 and <= 4 && ushort.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort v) ? new UsbId(v) : null;
                }
            }
        }

        return null;
    }

    private static string? Encoded(Uevent e, string encodedKey, string plainKey)
    {
        string? encoded = e.GetString(encodedKey);
        return encoded is not null ? UdevEncoding.Decode(encoded) : e.GetString(plainKey);
    }

    private static int? IntFrom(string? text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;

    private static (ImmutableArray<string> List, UsbInterfaceSource Source, string? Problem) InterfacesFrom(string? packed, SysfsDevice? usb, UsbDeviceCache? usbDevices)
    {
        if (packed is not null)
        {
            // ":080650:030101:" — one ccsspp per distinct interface class triple.
            var builder = ImmutableArray.CreateBuilder<string>();
            foreach (Range r in packed.AsSpan().Split(':'))
            {
                ReadOnlySpan<char> t = packed.AsSpan()[r];
                if (t.Length == 6 && IsHexByte(t[..2]) && IsHexByte(t[2..4]) && IsHexByte(t[4..]))
                {
                    string entry = string.Concat(t[..2].ToString(), ":", t[2..4].ToString(), ":", t[4..].ToString()).ToLowerInvariant();
                    if (!builder.Contains(entry))
                    {
                        builder.Add(entry);
                    }
                }
            }

            // usb_id closes the list with ':' only when its walk ended normally; on "Corrupt data"
            // it exports what it had, unclosed.
            string? problem = packed.Length > 0 && !packed.EndsWith(':')
                ? "ID_USB_INTERFACES is not closed with ':' (udev found the descriptors corrupt)"
                : null;
            return (builder.ToImmutable(), UsbInterfaceSource.UdevProperty, problem);
        }

        if (usb is null)
        {
            return ([], UsbInterfaceSource.Unknown, null);
        }

        // The descriptors are complete at the device's add; the interface children appear only after
        // the generic driver has set a configuration, so they are the fallback for trees without them.
        if ((usbDevices is not null ? usbDevices.Descriptors(usb) : UsbDescriptors.Read(Path.Join(usb.Directory, UsbDescriptors.AttributeName))) is { } read)
        {
            return (read.Interfaces, UsbInterfaceSource.Descriptors, read.Problem);
        }

        var interfaces = new List<(int Number, string Entry)>();
        foreach (SysfsDevice child in usb.Children())
        {
            string? cls = child.GetAttribute("bInterfaceClass");
            string? sub = child.GetAttribute("bInterfaceSubClass");
            string? proto = child.GetAttribute("bInterfaceProtocol");
            if (child.DevType != "usb_interface" || !IsHexByte(cls) || !IsHexByte(sub) || !IsHexByte(proto))
            {
                continue;
            }

            string entry = string.Concat(cls, ":", sub, ":", proto).ToLowerInvariant();
            int number = int.TryParse(child.GetAttribute("bInterfaceNumber"), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int n) ? n : int.MaxValue;
            if (!interfaces.Exists(i => i.Entry == entry))
            {
                interfaces.Add((number, entry));
            }
        }

        // udev lists them in descriptor order, which is interface-number order.
        interfaces.Sort(static (a, b) => a.Number.CompareTo(b.Number));
        return ([.. interfaces.Select(i => i.Entry)], interfaces.Count > 0 ? UsbInterfaceSource.InterfaceChildren : UsbInterfaceSource.Unknown, null);
    }

    private static bool IsHexByte(string? s) => s is not null && IsHexByte(s.AsSpan());

    private static bool IsHexByte(ReadOnlySpan<char> s) => s.Length == 2 && char.IsAsciiHexDigit(s[0]) && char.IsAsciiHexDigit(s[1]);
}
