using System.Collections.Immutable;
using System.Globalization;
using KvmUdevAgent.Core.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// Builds the <see cref="DeviceView"/> the rules see from an event and the sysfs tree. Ids and
/// lists come from the event's udev properties when present (ID_VENDOR_ID, ID_MODEL_ID,
/// ID_USB_INTERFACES, ID_FS_*), else from sysfs (idVendor, idProduct, busnum, devnum, and the
/// interface classes from <c>descriptors</c>, on the <c>usb_device</c> a block device sits on),
/// else from the event's kernel properties (PRODUCT, BUSNUM, DEVNUM). Free-text strings (serial, manufacturer, product) are the raw sysfs values
/// when sysfs is there, because udev's versions of them are mangled; udev's are the fallback. A <c>remove</c> never reads sysfs (its
/// directory is gone): it gets the identity remembered at <c>add</c>, or what the event itself says.
/// Device data is kept raw; an id that does not parse is left null; nothing here throws on bad data.
/// </summary>
internal sealed partial class DeviceViewFactory
{
    private readonly BlkidProbe? _blkid;
    private readonly ILogger _logger;
    private readonly UsbDeviceCache? _usbDevices;

    /// <param name="sysfsRoot">The sysfs root (<c>/sys</c>, or a fixture tree).</param>
    /// <param name="blkid">Probe for filesystems on events that did not pass through udevd; null never probes.</param>
    /// <param name="logger">Debug-level detail (probe failures).</param>
    /// <param name="cacheUsbDevices">
    /// Keep each USB device's sysfs attributes from one event to the next (the daemon, which sees
    /// every remove); off for one-shot views (<c>test</c>, <c>monitor</c>).
    /// </param>
    public DeviceViewFactory(string sysfsRoot, BlkidProbe? blkid = null, ILogger<DeviceViewFactory>? logger = null, bool cacheUsbDevices = false)
    {
        SysfsRoot = sysfsRoot;
        _blkid = blkid;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _usbDevices = cacheUsbDevices ? new UsbDeviceCache(sysfsRoot) : null;
    }

    public string SysfsRoot { get; }

    /// <summary>An event whose view is not built (no rule can match it) still tells the USB cache what went stale.</summary>
    public void Observe(Uevent uevent) => _ = _usbDevices?.Observe(uevent);

    /// <summary>Builds the view without probing filesystems (for <c>test</c>, replays and benchmarks).</summary>
    public DeviceView Create(Uevent uevent, DeviceIdentity? remembered = null)
    {
        SysfsDevice? held = _usbDevices?.Observe(uevent);
        SysfsDevice? sysfs = OpenSysfs(uevent, held);
        if (uevent.Action == UeventAction.Remove && remembered is not null)
        {
            return new DeviceView(uevent, remembered, null);
        }

        return new DeviceView(uevent, BuildIdentity(uevent, sysfs, _usbDevices, held), sysfs);
    }

    /// <summary>
    /// Builds the view and, for a block device whose event carries no ID_FS_* and did not come from
    /// udevd (kernel source, coldplug), asks blkid what is on its device node, but only when
    /// <paramref name="needsFilesystem"/> (the rules: can a rule that uses the filesystem still match
    /// this view?) says so; otherwise the view says <see cref="DeviceIdentity.FsProbeSkipped"/>.
    /// Null <paramref name="needsFilesystem"/> probes whenever blkid could tell something.
    /// </summary>
    public async ValueTask<DeviceView> CreateAsync(Uevent uevent, DeviceIdentity? remembered, Func<DeviceView, bool>? needsFilesystem, CancellationToken cancellationToken)
    {
        DeviceView view = Create(uevent, remembered);
        if (_blkid is null || !NeedsProbe(view))
        {
            return view;
        }

        if (needsFilesystem is not null && !needsFilesystem(view))
        {
            return new DeviceView(uevent, view.Identity with { FsProbeSkipped = true }, view.Sysfs);
        }

        return await ProbeAsync(view, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Probes the filesystem of a view built without it (<see cref="DeviceIdentity.FsProbeSkipped"/>),
    /// when the rules change and one of them now needs it. Any other view is returned as it is.
    /// </summary>
    public async ValueTask<DeviceView> CompleteAsync(DeviceView view, CancellationToken cancellationToken)
    {
        if (_blkid is null || !view.Identity.FsProbeSkipped)
        {
            return view;
        }

        var unprobed = new DeviceView(view.Event, view.Identity with { FsProbeSkipped = false }, view.Sysfs);
        return NeedsProbe(unprobed) ? await ProbeAsync(unprobed, cancellationToken).ConfigureAwait(false) : unprobed;
    }

    private async ValueTask<DeviceView> ProbeAsync(DeviceView view, CancellationToken cancellationToken)
    {
        BlkidResult result = await _blkid!.ProbeAsync(view.Identity.DevNode!, cancellationToken).ConfigureAwait(false);
        switch (result.Status)
        {
            case BlkidStatus.Found:
                var identity = view.Identity with { FsLabel = result.Label, FsUuid = result.Uuid, FsType = result.Type };
                return new DeviceView(view.Event, identity, view.Sysfs);
            case BlkidStatus.Failed:
                Log.BlkidFailed(_logger, view.DevPath, view.Identity.DevNode!, result.Error ?? string.Empty);
                return view;
            default:
                return view;
        }
    }

    private static bool NeedsProbe(DeviceView view) =>
        view.Subsystem == "block" &&
        view.Event.Action is UeventAction.Add or UeventAction.Change &&
        view.Event.Source != UeventSource.Udev &&
        view.Event.Source != UeventSource.Replay &&
        view.Identity.FsType is null && view.Identity.FsUuid is null && view.Identity.FsLabel is null &&
        // Unbound loop devices and card readers without media have size 0: nothing to find.
        view.Identity.SizeBytes != 0 &&
        view.Identity.DevNode is not null;

    // held: the USB device the cache holds at the event's DEVPATH (UsbDeviceCache.Observe's answer).
    private SysfsDevice? OpenSysfs(Uevent uevent, SysfsDevice? held)
    {
        // A removed device's directory is gone (or, worse, already reused); a replayed event may
        // come from another machine. Neither reads sysfs.
        if (uevent.Action == UeventAction.Remove || uevent.Source == UeventSource.Replay ||
            !uevent.DevPath.StartsWith("/devices/", StringComparison.Ordinal) || uevent.DevPath.Contains("/..", StringComparison.Ordinal))
        {
            return null;
        }

        // The event's own directory is read afresh (its attributes may have changed), but whether it
        // exists is known without a stat while its USB device is held.
        var device = new SysfsDevice(SysfsRoot, uevent.DevPath);
        return held is not null || device.Exists ? device : null;
    }

    // Issue 15: the event's properties are read by their known-key ids (a slot read each, one for an absent
    // key), and the ids and PRODUCT from their bytes, without decoding them to strings; what each field
    // says is the same (property test DeviceViewFactoryPropertyTests against the code before).
    // held: what usbDevices.Observe returned for this event (the USB device held at its DEVPATH).
    internal static DeviceIdentity BuildIdentity(Uevent e, SysfsDevice? sysfs, UsbDeviceCache? usbDevices = null, SysfsDevice? held = null)
    {
        // USB device names (B-P.P under usbB) are unambiguous, so the usb_device is found from the
        // DEVPATH itself: one directory check instead of a subsystem/DEVTYPE read per parent level.
        string? usbDevPath = UsbKernelName.FindUsbDevicePath(e.DevPath);
        SysfsDevice? usb = sysfs is null || usbDevPath is null ? null
            : usbDevices is not null ? (held is not null && string.Equals(usbDevPath, e.DevPath, StringComparison.Ordinal) ? held : usbDevices.Get(usbDevPath))
            : new SysfsDevice(sysfs.SysfsRoot, usbDevPath) is { Exists: true } fresh ? fresh : null;
        int? bus = null;
        string? portPath = null;
        // usb sits at usbDevPath: a held USB device parses its name once for all its events (issue 15: a string each).
        if (usb is not null ? usb.TryParseUsbName(out int b, out string? p)
            : usbDevPath is not null && UsbKernelName.TryParse(usbDevPath.AsSpan(usbDevPath.LastIndexOf('/') + 1), out b, out p))
        {
            bus = b;
            portPath = p;
        }

        bool isUsbDeviceEvent = e.Subsystem == "usb" && e.DevType == "usb_device";
        bool usbSubsystem = e.Subsystem == "usb";

        string? devName = e.GetKnownString(UeventKnownKeys.DevName) ?? sysfs?.GetUeventProperty(UeventKeys.DevName);
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

        var interfaces = InterfacesFrom(e.GetKnownString(UeventKnownKeys.IdUsbInterfaces), usb, usbDevices);
        return new DeviceIdentity
        {
            Vendor = UsbIdFrom(e, UeventKnownKeys.IdVendorId, UeventKnownKeys.IdUsbVendorId, usb, "idVendor", usbSubsystem, 0),
            Product = UsbIdFrom(e, UeventKnownKeys.IdModelId, UeventKnownKeys.IdUsbModelId, usb, "idProduct", usbSubsystem, 1),
            // The raw sysfs serial first: ID_SERIAL_SHORT is udev's "safe" form (whitespace runs become
            // "_", and serials with control or non-ASCII bytes are dropped), so taking it first would
            // make the same drive match differently with source: udev and source: kernel.
            Serial = usb is not null ? usb.GetAttribute("serial") : e.GetKnownString(UeventKnownKeys.IdSerialShort) ?? e.GetKnownString(UeventKnownKeys.IdUsbSerialShort),
            // udevd's ID_VENDOR/ID_MODEL on a mass-storage disk are the SCSI inquiry strings, and its
            // "safe" forms replace spaces; the USB strings themselves are read from sysfs, and only a
            // usb_device event without sysfs falls back to decoding ID_VENDOR_ENC/ID_MODEL_ENC.
            Manufacturer = usb is not null ? usb.GetAttribute("manufacturer") : isUsbDeviceEvent ? Encoded(e, UeventKnownKeys.IdVendorEnc, UeventKnownKeys.IdVendor) : null,
            Model = usb is not null ? usb.GetAttribute("product") : isUsbDeviceEvent ? Encoded(e, UeventKnownKeys.IdModelEnc, UeventKnownKeys.IdModel) : null,
            BusNum = (isUsbDeviceEvent ? e.GetKnownDecimal(UeventKnownKeys.BusNum) : null) ?? IntFrom(usb?.GetAttribute("busnum")) ?? bus,
            DevNum = (isUsbDeviceEvent ? e.GetKnownDecimal(UeventKnownKeys.DevNum) : null) ?? IntFrom(usb?.GetAttribute("devnum")),
            PortPath = portPath,
            UsbDevPath = usbDevPath,
            Interfaces = interfaces.List,
            InterfacesSource = interfaces.Source,
            InterfacesProblem = interfaces.Problem,
            Kernel = e.KernelName,
            DevNode = devNode,
            SizeBytes = size,
            Removable = removable,
            FsLabel = Encoded(e, UeventKnownKeys.IdFsLabelEnc, UeventKnownKeys.IdFsLabel),
            FsUuid = Encoded(e, UeventKnownKeys.IdFsUuidEnc, UeventKnownKeys.IdFsUuid),
            FsType = e.GetKnownString(UeventKnownKeys.IdFsType),
        };
    }

    private static UsbId? UsbIdFrom(Uevent e, int key, int usbKey, SysfsDevice? usb, string attribute, bool usbSubsystem, int productField)
    {
        // A property that is present decides, even when it does not parse: a bogus ID_VENDOR_ID
        // leaves the id unknown rather than quietly taking another source's word.
        if (e.TryGetKnown(key, out ReadOnlySpan<byte> text) || e.TryGetKnown(usbKey, out text))
        {
            return UsbId.TryParse(text, out UsbId id) ? id : null;
        }

        if (usb is not null)
        {
            return UsbId.TryParse(usb.GetAttribute(attribute), out UsbId id, out _) ? id : null;
        }

        // PRODUCT is "vid/pid/bcd" in unpadded lower-case hex ("58f/6387/100"). Only ASCII hex digits
        // decode to hex digits, and '/' is the same byte as the character, so the bytes say what the text would.
        if (usbSubsystem && e.TryGetKnown(UeventKnownKeys.Product, out ReadOnlySpan<byte> product))
        {
            int field = 0;
            foreach (Range r in product.Split((byte)'/'))
            {
                if (field++ == productField)
                {
                    return UsbId.TryParseHex(product[r], 1, 4, out UsbId id) ? id : null;
                }
            }
        }

        return null;
    }

    private static string? Encoded(Uevent e, int encodedKey, int plainKey)
    {
        string? encoded = e.GetKnownString(encodedKey);
        return encoded is not null ? UdevEncoding.Decode(encoded) : e.GetKnownString(plainKey);
    }

    private static int? IntFrom(string? text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;

    private static (ImmutableArray<string> List, UsbInterfaceSource Source, string? Problem) InterfacesFrom(string? packed, SysfsDevice? usb, UsbDeviceCache? usbDevices)
    {
        if (packed is not null)
        {
            UsbInterfaceList list = UdevInterfacesProperty.Parse(packed);
            return (list.Interfaces, UsbInterfaceSource.UdevProperty, list.Problem);
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

    private static bool IsHexByte(string? s) => s is not null && UdevInterfacesProperty.IsHexByte(s);

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.DevicesBlkidFailed, EventName = nameof(LogEvents.DevicesBlkidFailed), Level = LogLevel.Debug,
            Message = "blkid probe of {DevNode} for {DevPath} failed: {Reason}, ignoring")]
        public static partial void BlkidFailed(ILogger logger, string devPath, string devNode, string reason);
    }
}
