using System.Globalization;
using System.Text;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>
/// A fake sysfs tree in a temp directory, laid out as the kernel lays out a USB flash drive:
/// <c>devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4/2-1.4:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1</c>,
/// with <c>subsystem</c>/<c>driver</c> links, attribute files ending in a newline, <c>uevent</c>
/// files holding the kernel's KEY=VALUE lines, and the <c>bus/usb/devices</c>, <c>class/block</c>
/// and <c>block</c> symlinks. It also produces the property lists that the kernel and
/// systemd-udevd send for each device, so tests can build events that agree with the tree.
/// </summary>
/// <remarks>
/// Shared by the Core tests, the integration tests and the benchmarks (linked as a source file),
/// so it must not depend on xunit. udev facts modelled on systemd's <c>udev-builtin-usb_id.c</c>:
/// ID_USB_INTERFACES is <c>:ccsspp:</c> per distinct interface class triple; ID_VENDOR/ID_MODEL of
/// a mass-storage block device are the SCSI inquiry strings, while ID_VENDOR_ID/ID_MODEL_ID/
/// ID_SERIAL_SHORT come from the USB device; a serial with bytes outside 0x20..0x7f or a comma
/// gets no ID_SERIAL_SHORT; <c>*_ENC</c> values escape unsafe bytes as <c>\xNN</c>.
/// </remarks>
internal sealed class SysfsFixture : IDisposable
{
    /// <summary>The seed's drive: Alcor 058f:6387, serial 576B63C4.</summary>
    public const string SeedVendor = "058f";
    public const string SeedProduct = "6387";
    public const string SeedSerial = "576B63C4";
    public const string SeedLabel = "FLASH";
    public const string SeedUuid = "1A2B-3C4D";
    public const string TwinSerial = "9C3A1F07";

    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<int, int> _nextDevNum = [];
    private int _nextScsiHost = 6;
    private int _diskSeq = 9;
    private bool _disposed;

    public SysfsFixture()
    {
        Root = Path.Join(Path.GetTempPath(), "kua-sysfs-" + Guid.NewGuid().ToString("N")[..12]);
        foreach (string dir in new[] { "devices", "bus/usb/devices", "bus/usb/drivers", "bus/scsi/devices", "bus/scsi/drivers", "bus/pci/devices", "class/block", "block" })
        {
            Directory.CreateDirectory(Path.Join(Root, dir));
        }
    }

    /// <summary>The fixture's sysfs root (use as <c>sysfs_root</c>).</summary>
    public string Root { get; }

    /// <summary>Every device made so far, parents before children.</summary>
    public IEnumerable<Node> Nodes => _nodes.Values.OrderBy(n => n.DevPath.Count(c => c == '/')).ThenBy(n => n.DevPath, StringComparer.Ordinal);

    /// <summary>Starts describing a USB device at <paramref name="bus"/>-<paramref name="portPath"/> (e.g. 2, "1.4" → <c>2-1.4</c>).</summary>
    public UsbDeviceBuilder UsbDevice(int bus, string portPath, string vendorId, string productId) => new(this, bus, portPath, vendorId, productId);

    /// <summary>The seed's flash drive: 058f:6387 "Generic Mass Storage" serial 576B63C4 at <c>2-1.4</c>, <c>sdb</c> + vfat <c>sdb1</c> labelled FLASH.</summary>
    public Drive AddSeedFlashDrive(string portPath = "1.4", int devNum = 5, string disk = "sdb") =>
        UsbDevice(2, portPath, SeedVendor, SeedProduct)
            .Strings("Generic", "Mass Storage", SeedSerial)
            .DevNum(devNum)
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .ScsiDisk(disk, sizeBytes: 8_053_063_680, scsiVendor: "Generic", scsiModel: "Flash Disk", scsiRev: "8.07")
            .Partition("vfat", SeedLabel, SeedUuid, fsVersion: "FAT32")
            .Add();

    /// <summary>A twin of the seed's drive (same vendor:product and strings, serial 9C3A1F07) at <c>2-1.3</c>, <c>sdc</c>/<c>sdc1</c> labelled TWIN.</summary>
    public Drive AddTwinFlashDrive(string portPath = "1.3", int devNum = 6, string disk = "sdc") =>
        UsbDevice(2, portPath, SeedVendor, SeedProduct)
            .Strings("Generic", "Mass Storage", TwinSerial)
            .DevNum(devNum)
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .ScsiDisk(disk, sizeBytes: 8_053_063_680, scsiVendor: "Generic", scsiModel: "Flash Disk", scsiRev: "8.07")
            .Partition("vfat", "TWIN", "5E6F-7A8B", fsVersion: "FAT32")
            .Add();

    /// <summary>
    /// A "flash drive" that also presents a HID keyboard (interfaces 08:06:50 and 03:01:01), the
    /// shape of a BadUSB stick: 058f:6387 again, serial BADC0FFEE, at <c>2-1.2</c>, <c>sdd</c>/<c>sdd1</c>.
    /// </summary>
    public Drive AddCompositeFlashKeyboard(string portPath = "1.2", int devNum = 7, string disk = "sdd") =>
        UsbDevice(2, portPath, SeedVendor, SeedProduct)
            .Strings("Generic", "Mass Storage", "BADC0FFEE")
            .DevNum(devNum)
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .Interface(0x03, 0x01, 0x01, "usbhid")
            .ScsiDisk(disk, sizeBytes: 4_026_531_840, scsiVendor: "Generic", scsiModel: "Flash Disk", scsiRev: "8.07")
            .Partition("vfat", "PAYLOAD", "0BAD-F00D", fsVersion: "FAT32")
            .Add();

    public Node Get(string devPath) => _nodes[devPath];

    /// <summary>
    /// What the kernel sends (netlink group 1) for <paramref name="node"/>: ACTION, DEVPATH, SUBSYSTEM,
    /// then the lines of its <c>uevent</c> file, then SEQNUM (when non-zero).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> KernelProperties(Node node, string action = "add", ulong seqNum = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var list = new List<KeyValuePair<string, string>>
        {
            new(UeventKeys.Action, action),
            new(UeventKeys.DevPath, node.DevPath),
            new(UeventKeys.Subsystem, node.Subsystem),
        };
        list.AddRange(node.KernelEnvironment);
        if (seqNum != 0)
        {
            list.Add(new(UeventKeys.SeqNum, seqNum.ToString(CultureInfo.InvariantCulture)));
        }

        return list;
    }

    /// <summary>
    /// What systemd-udevd sends (netlink group 2) after processing <paramref name="node"/>: the kernel
    /// properties with DEVNAME made absolute, SEQNUM, USEC_INITIALIZED, then the ID_* and other
    /// properties its rules and builtins (usb_id, blkid, path_id, hwdb) add. udevd's remove carries
    /// the properties from its database, so the same list is sent for remove.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> UdevProperties(Node node, string action = "add", ulong seqNum = 1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var list = new List<KeyValuePair<string, string>>
        {
            new(UeventKeys.Action, action),
            new(UeventKeys.DevPath, node.DevPath),
            new(UeventKeys.Subsystem, node.Subsystem),
        };
        foreach (var kv in node.KernelEnvironment)
        {
            list.Add(kv.Key == UeventKeys.DevName ? new(kv.Key, "/dev/" + kv.Value) : kv);
        }

        list.Add(new(UeventKeys.SeqNum, seqNum.ToString(CultureInfo.InvariantCulture)));
        list.Add(new(UeventKeys.UsecInitialized, "1234567890"));
        list.AddRange(node.UdevEnvironment);
        return list;
    }

    /// <summary>The kernel's event for <paramref name="node"/> as a <see cref="Uevent"/>.</summary>
    public Uevent KernelEvent(Node node, string action = "add", ulong seqNum = 0) => Uevent.Create(UeventSource.Kernel, KernelProperties(node, action, seqNum));

    /// <summary>systemd-udevd's event for <paramref name="node"/> as a <see cref="Uevent"/>.</summary>
    public Uevent UdevEvent(Node node, string action = "add", ulong seqNum = 1) => Uevent.Create(UeventSource.Udev, UdevProperties(node, action, seqNum));

    /// <summary>
    /// The events of one plug in the order a 4.14+ kernel sends them (as <c>udevadm monitor</c> shows
    /// for a flash drive): add of the USB device, its interfaces and the SCSI host; bind of the
    /// interfaces and then the USB device; then (after usb-storage's settle delay) add of the
    /// target, SCSI device, disk and partition, and bind of the SCSI device to sd.
    /// </summary>
    public IReadOnlyList<Uevent> PlugEvents(Drive drive, bool udev)
    {
        var events = new List<Uevent>();
        ulong seq = 100;
        void Emit(Node? n, string action)
        {
            if (n is not null)
            {
                events.Add(udev ? UdevEvent(n, action, seq++) : KernelEvent(n, action, seq++));
            }
        }

        Emit(drive.UsbDevice, "add");
        foreach (Node i in drive.Interfaces)
        {
            Emit(i, "add");
        }

        Emit(drive.ScsiHost, "add");
        foreach (Node i in drive.Interfaces)
        {
            Emit(i, "bind");
        }

        Emit(drive.UsbDevice, "bind");
        Emit(drive.ScsiTarget, "add");
        Emit(drive.ScsiDevice, "add");
        Emit(drive.Disk, "add");
        Emit(drive.Partition, "add");
        if (drive.ScsiDevice?.Driver is not null)
        {
            Emit(drive.ScsiDevice, "bind");
        }

        return events;
    }

    /// <summary>
    /// The events of one unplug, as the kernel sends them: unbind and remove from the partition up to
    /// the USB device. Build them before <see cref="Unplug"/>.
    /// </summary>
    public IReadOnlyList<Uevent> UnplugEvents(Drive drive, bool udev)
    {
        var events = new List<Uevent>();
        ulong seq = 900;
        foreach (Node n in drive.All.Reverse())
        {
            if (n.Driver is not null)
            {
                events.Add(udev ? UdevEvent(n, "unbind", seq++) : KernelEvent(n, "unbind", seq++));
            }

            events.Add(udev ? UdevEvent(n, "remove", seq++) : KernelEvent(n, "remove", seq++));
        }

        return events;
    }

    /// <summary>
    /// Pulls the drive out: deletes its directories and the links pointing at them, as the kernel
    /// has done by the time a <c>remove</c> is read. Events made before stay valid.
    /// </summary>
    public void Unplug(Drive drive)
    {
        foreach (Node n in drive.All.Reverse())
        {
            foreach (string link in n.Links)
            {
                File.Delete(link);
            }

            _nodes.Remove(n.DevPath);
        }

        Directory.Delete(drive.UsbDevice.Directory, recursive: true);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    // ---- tree building -------------------------------------------------------------------------

    private Node EnsurePciController(int bus)
    {
        // Bus 1 and 2 on the EHCI functions of an Intel chipset; anything else on made-up functions.
        string function = bus switch
        {
            1 => "0000:00:1a.0",
            2 => "0000:00:1d.0",
            _ => string.Create(CultureInfo.InvariantCulture, $"0000:00:{0x10 + bus:x2}.0"),
        };
        string devPath = "/devices/pci0000:00/" + function;
        if (_nodes.TryGetValue(devPath, out Node? existing))
        {
            return existing;
        }

        Directory.CreateDirectory(Path.Join(Root, "devices/pci0000:00"));
        File.WriteAllText(Path.Join(Root, "devices/pci0000:00/uevent"), string.Empty);
        var node = CreateNode(devPath, "pci", devType: null, driver: "ehci-pci", busDirectory: "bus/pci",
            kernelEnv: [new("DRIVER", "ehci-pci"), new("PCI_CLASS", "C0320"), new("PCI_ID", "8086:1C26"), new("PCI_SLOT_NAME", function)]);
        WriteAttribute(node, "vendor", "0x8086");
        WriteAttribute(node, "device", "0x1c26");
        WriteAttribute(node, "class", "0x0c0320");
        return node;
    }

    private Node EnsureUsbHub(int bus, string portPath)
    {
        // portPath "" is the root hub usbN; "1" is hub N-1; and so on.
        string parentDevPath;
        if (portPath.Length == 0)
        {
            parentDevPath = EnsurePciController(bus).DevPath;
            string rootPath = parentDevPath + "/usb" + bus.ToString(CultureInfo.InvariantCulture);
            if (_nodes.TryGetValue(rootPath, out Node? root))
            {
                return root;
            }

            var spec = new UsbDeviceBuilder(this, bus, string.Empty, "1d6b", "0002")
                .Strings("Linux 6.12.0 ehci_hcd", "EHCI Host Controller", serial: null)
                .DevNum(1).Bcd(0x0612).DeviceClass(0x09).Interface(0x09, 0x00, 0x00, "hub");
            return spec.Add().UsbDevice;
        }

        int dot = portPath.LastIndexOf('.');
        string parentPort = dot < 0 ? string.Empty : portPath[..dot];
        Node parent = EnsureUsbHub(bus, parentPort);
        string kernel = UsbKernelName(bus, portPath);
        string devPath = parent.DevPath + "/" + kernel;
        if (_nodes.TryGetValue(devPath, out Node? hub))
        {
            return hub;
        }

        // An on-board "rate matching hub", as on Intel EHCI boards.
        return new UsbDeviceBuilder(this, bus, portPath, "8087", "0024")
            .Strings(null, null, null).DeviceClass(0x09).Interface(0x09, 0x00, 0x00, "hub").Add().UsbDevice;
    }

    private static string UsbKernelName(int bus, string portPath) =>
        portPath.Length == 0 ? "usb" + bus.ToString(CultureInfo.InvariantCulture) : bus.ToString(CultureInfo.InvariantCulture) + "-" + portPath;

    private int AllocateDevNum(int bus, int? requested)
    {
        int next = _nextDevNum.TryGetValue(bus, out int n) ? n : 2;
        int devNum = requested ?? next;
        _nextDevNum[bus] = Math.Max(next, devNum + 1);
        return devNum;
    }

    private Node CreateNode(string devPath, string subsystem, string? devType, string? driver, string busDirectory,
        IReadOnlyList<KeyValuePair<string, string>> kernelEnv, IReadOnlyList<KeyValuePair<string, string>>? udevEnv = null)
    {
        string dir = Path.Join(Root, devPath);
        Directory.CreateDirectory(dir);
        var env = new List<KeyValuePair<string, string>>();
        // Kernel order: MAJOR/MINOR/DEVNAME come first (device core), then DEVTYPE, DRIVER, then the bus's own.
        foreach (var kv in kernelEnv.Where(kv => kv.Key is "MAJOR" or "MINOR" or "DEVNAME"))
        {
            env.Add(kv);
        }

        if (devType is not null)
        {
            env.Add(new(UeventKeys.DevType, devType));
        }

        foreach (var kv in kernelEnv.Where(kv => kv.Key is not ("MAJOR" or "MINOR" or "DEVNAME")))
        {
            env.Add(kv);
        }

        var sb = new StringBuilder();
        foreach (var kv in env)
        {
            sb.Append(kv.Key).Append('=').Append(kv.Value).Append('\n');
        }

        File.WriteAllText(Path.Join(dir, "uevent"), sb.ToString());
        int depth = devPath.Count(c => c == '/'); // "/devices/a/b" is 3 levels below the root
        string up = string.Concat(Enumerable.Repeat("../", depth));
        File.CreateSymbolicLink(Path.Join(dir, "subsystem"), up + busDirectory);
        if (driver is not null && busDirectory.StartsWith("bus/", StringComparison.Ordinal))
        {
            Directory.CreateDirectory(Path.Join(Root, busDirectory, "drivers", driver));
            File.CreateSymbolicLink(Path.Join(dir, "driver"), up + busDirectory + "/drivers/" + driver);
        }

        var node = new Node(this, devPath, subsystem, devType, driver, env, udevEnv ?? []);
        _nodes[devPath] = node;
        if (busDirectory.StartsWith("bus/", StringComparison.Ordinal))
        {
            string busLink = Path.Join(Root, busDirectory, "devices", node.Kernel);
            Directory.CreateDirectory(Path.GetDirectoryName(busLink)!);
            File.CreateSymbolicLink(busLink, "../../.." + devPath);
            node.Links.Add(busLink);
        }
        else
        {
            string classLink = Path.Join(Root, busDirectory, node.Kernel);
            File.CreateSymbolicLink(classLink, "../.." + devPath);
            node.Links.Add(classLink);
            if (subsystem == "block" && devType == "disk")
            {
                string blockLink = Path.Join(Root, "block", node.Kernel);
                File.CreateSymbolicLink(blockLink, ".." + devPath);
                node.Links.Add(blockLink);
            }
        }

        return node;
    }

    private static void WriteAttribute(Node node, string name, string value) => File.WriteAllText(Path.Join(node.Directory, name), value + "\n");

    private static void WriteAttributeBytes(Node node, string name, byte[] value) => File.WriteAllBytes(Path.Join(node.Directory, name), value);

    // ---- udev's string treatment (udev-builtin-usb_id.c, udev-util.c, blkid's encode) ----------

    /// <summary>udev's <c>*_ENC</c> encoding: bytes outside <c>[0-9A-Za-z#+-.:=@_]</c> and valid multibyte UTF-8 become <c>\xNN</c>.</summary>
    public static string UdevEncode(string value)
    {
        var sb = new StringBuilder();
        foreach (Rune r in value.EnumerateRunes())
        {
            if (r.Value >= 0x80 || char.IsAsciiLetterOrDigit((char)r.Value) || "#+-.:=@_".Contains((char)r.Value, StringComparison.Ordinal))
            {
                sb.Append(r.ToString());
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{r.Value:x2}");
            }
        }

        return sb.ToString();
    }

    /// <summary>udev's "safe" form: whitespace runs collapse to one <c>_</c>, ends trimmed, other unsafe chars become <c>_</c>.</summary>
    public static string UdevSafe(string value)
    {
        var sb = new StringBuilder();
        bool pendingSpace = false;
        string trimmed = value.Trim();
        for (int i = 0; i < trimmed.Length; i++)
        {
            char c = trimmed[i];
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = true;
                continue;
            }

            if (pendingSpace)
            {
                sb.Append('_');
                pendingSpace = false;
            }

            // udev keeps a "\x" that looks like its own hex escape.
            bool escape = c == '\\' && i + 1 < trimmed.Length && trimmed[i + 1] == 'x';
            sb.Append(escape || c >= 0x80 || char.IsAsciiLetterOrDigit(c) || "#+-.:=@_".Contains(c, StringComparison.Ordinal) ? c : '_');
        }

        return sb.ToString();
    }

    private static bool UdevAcceptsSerial(string serial) => serial.All(c => c >= 0x20 && c <= 0x7f && c != ',');

    // ---- types ----------------------------------------------------------------------------------

    /// <summary>One device directory in the fixture tree.</summary>
    internal sealed class Node
    {
        internal Node(SysfsFixture owner, string devPath, string subsystem, string? devType, string? driver,
            List<KeyValuePair<string, string>> kernelEnvironment, IReadOnlyList<KeyValuePair<string, string>> udevEnvironment)
        {
            DevPath = devPath;
            Subsystem = subsystem;
            DevType = devType;
            Driver = driver;
            KernelEnvironment = kernelEnvironment;
            UdevEnvironment = udevEnvironment.ToList();
            Directory = Path.Join(owner.Root, devPath);
            Kernel = devPath[(devPath.LastIndexOf('/') + 1)..];
        }

        /// <summary>DEVPATH, <c>/devices/...</c>.</summary>
        public string DevPath { get; }
        public string Subsystem { get; }
        public string? DevType { get; }
        public string? Driver { get; }
        public string Kernel { get; }
        /// <summary>The absolute directory of the device in the fixture.</summary>
        public string Directory { get; }
        /// <summary>The <c>uevent</c> file's lines (without ACTION/DEVPATH/SUBSYSTEM/SEQNUM).</summary>
        public IReadOnlyList<KeyValuePair<string, string>> KernelEnvironment { get; }
        /// <summary>What udevd's rules add on top (ID_*, DEVLINKS, TAGS, ...).</summary>
        public List<KeyValuePair<string, string>> UdevEnvironment { get; }
        internal List<string> Links { get; } = [];

        public override string ToString() => DevPath;
    }

    /// <summary>The devices of one plugged USB device, parents before children.</summary>
    internal sealed record Drive(
        Node UsbDevice, IReadOnlyList<Node> Interfaces, Node? ScsiHost, Node? ScsiTarget, Node? ScsiDevice, Node? Disk, Node? Partition,
        int Bus, string PortPath, int DevNum, string VendorId, string ProductId, string? Serial)
    {
        /// <summary>Kernel name of the USB device, e.g. <c>2-1.4</c>.</summary>
        public string UsbKernel => UsbDevice.Kernel;

        /// <summary>All devices in kernel add order.</summary>
        public IEnumerable<Node> All
        {
            get
            {
                yield return UsbDevice;
                foreach (Node i in Interfaces)
                {
                    yield return i;
                }

                foreach (Node? n in new[] { ScsiHost, ScsiTarget, ScsiDevice, Disk, Partition })
                {
                    if (n is not null)
                    {
                        yield return n;
                    }
                }
            }
        }
    }

    /// <summary>Fluent description of a USB device; <see cref="Add"/> writes it into the tree.</summary>
    internal sealed class UsbDeviceBuilder
    {
        private readonly SysfsFixture _fixture;
        private readonly int _bus;
        private readonly string _portPath;
        private readonly string _vendorId;
        private readonly string _productId;
        private readonly List<(byte Class, byte SubClass, byte Protocol, string Driver)> _interfaces = [];
        private string? _manufacturer;
        private string? _product;
        private string? _serial;
        private byte[]? _serialBytes;
        private int? _devNum;
        private int _bcd = 0x0100;
        private byte _deviceClass;
        private string? _disk;
        private long _sizeBytes;
        private string _scsiVendor = "Generic";
        private string _scsiModel = "Flash Disk";
        private string _scsiRev = "8.07";
        private bool _removable = true;
        private int? _scsiHost;
        private (string FsType, string? Label, string? Uuid, string? FsVersion)? _partition;
        private (string FsType, string? Label, string? Uuid)? _diskFilesystem;
        private byte[]? _descriptors;
        private bool _noDescriptors;
        private bool _unconfigured;

        internal UsbDeviceBuilder(SysfsFixture fixture, int bus, string portPath, string vendorId, string productId)
        {
            _fixture = fixture;
            _bus = bus;
            _portPath = portPath;
            _vendorId = vendorId;
            _productId = productId;
        }

        /// <summary>USB string descriptors; null leaves the attribute file out, as the kernel does.</summary>
        public UsbDeviceBuilder Strings(string? manufacturer, string? product, string? serial)
        {
            _manufacturer = manufacturer;
            _product = product;
            _serial = serial;
            return this;
        }

        /// <summary>A serial attribute with arbitrary bytes (invalid UTF-8, control characters).</summary>
        public UsbDeviceBuilder SerialBytes(byte[] serial)
        {
            _serialBytes = serial;
            _serial = null;
            return this;
        }

        public UsbDeviceBuilder DevNum(int devNum)
        {
            _devNum = devNum;
            return this;
        }

        public UsbDeviceBuilder Bcd(int bcdDevice)
        {
            _bcd = bcdDevice;
            return this;
        }

        public UsbDeviceBuilder DeviceClass(byte deviceClass)
        {
            _deviceClass = deviceClass;
            return this;
        }

        public UsbDeviceBuilder Interface(byte interfaceClass, byte subClass, byte protocol, string driver)
        {
            _interfaces.Add((interfaceClass, subClass, protocol, driver));
            return this;
        }

        /// <summary>A SCSI disk behind the first mass-storage interface: <c>hostN/targetN:0:0/N:0:0:0/block/{name}</c>.</summary>
        public UsbDeviceBuilder ScsiDisk(string name, long sizeBytes, string scsiVendor = "Generic", string scsiModel = "Flash Disk", string scsiRev = "8.07", bool removable = true, int? scsiHost = null)
        {
            _disk = name;
            _sizeBytes = sizeBytes;
            _scsiVendor = scsiVendor;
            _scsiModel = scsiModel;
            _scsiRev = scsiRev;
            _removable = removable;
            _scsiHost = scsiHost;
            return this;
        }

        /// <summary>Partition 1 of the disk (MBR), with the filesystem blkid would find on it.</summary>
        public UsbDeviceBuilder Partition(string fsType, string? label, string? uuid, string? fsVersion = null)
        {
            _partition = (fsType, label, uuid, fsVersion);
            return this;
        }

        /// <summary>A filesystem on the whole disk (no partition table), as many sticks are formatted.</summary>
        public UsbDeviceBuilder DiskFilesystem(string fsType, string? label, string? uuid)
        {
            _diskFilesystem = (fsType, label, uuid);
            return this;
        }

        /// <summary>
        /// The bytes of the <c>descriptors</c> attribute instead of the ones made from <see cref="Interface"/>
        /// (a real device's layout, or a damaged one); null leaves the file out, as on kernels before 2.6.
        /// </summary>
        public UsbDeviceBuilder Descriptors(byte[]? blob)
        {
            _descriptors = blob;
            _noDescriptors = blob is null;
            return this;
        }

        /// <summary>
        /// The device as it is when the kernel sends its <c>add</c> (<c>usb_new_device</c> announces it
        /// before the generic driver probes): descriptors and strings read, but no configuration set,
        /// so no interface children (and no disk), no driver link or DRIVER, and the attributes of the
        /// active configuration (<c>bConfigurationValue</c>, <c>bNumInterfaces</c>, <c>bmAttributes</c>,
        /// <c>bMaxPower</c>) empty.
        /// </summary>
        public UsbDeviceBuilder Unconfigured()
        {
            _unconfigured = true;
            return this;
        }

        /// <summary>Writes the device, its interfaces and disk into the tree; creates missing hubs on the way.</summary>
        public Drive Add()
        {
            SysfsFixture fx = _fixture;
            string busText = _bus.ToString(CultureInfo.InvariantCulture);
            Node parent;
            if (_portPath.Length == 0)
            {
                parent = fx.EnsurePciController(_bus);
            }
            else
            {
                int dot = _portPath.LastIndexOf('.');
                parent = fx.EnsureUsbHub(_bus, dot < 0 ? string.Empty : _portPath[..dot]);
            }

            string kernel = UsbKernelName(_bus, _portPath);
            string devPath = parent.DevPath + "/" + kernel;
            int devNum = fx.AllocateDevNum(_bus, _devNum);
            ushort vid = ushort.Parse(_vendorId, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            ushort pid = ushort.Parse(_productId, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            string product = string.Create(CultureInfo.InvariantCulture, $"{vid:x}/{pid:x}/{_bcd:x}");
            string type = string.Create(CultureInfo.InvariantCulture, $"{_deviceClass}/0/0");
            int minor = (_bus - 1) * 128 + devNum - 1;
            string devName = string.Create(CultureInfo.InvariantCulture, $"bus/usb/{_bus:d3}/{devNum:d3}");
            // ID_USB_INTERFACES lists each distinct triple once: ":080650:030101:".
            string interfaces = ":" + string.Join(":", _interfaces.Select(i => string.Create(CultureInfo.InvariantCulture, $"{i.Class:x2}{i.SubClass:x2}{i.Protocol:x2}")).Distinct()) + ":";
            string idPath = "pci-" + fx.EnsurePciController(_bus).Kernel + "-usb-0:" + (_portPath.Length == 0 ? "0" : _portPath);
            string? serialText = _serial ?? (_serialBytes is null ? null : Encoding.UTF8.GetString(_serialBytes));

            var usbUdev = UsbIdProperties(_manufacturer ?? _vendorId, _product ?? _productId, serialText, interfaces, revision: string.Create(CultureInfo.InvariantCulture, $"{_bcd:x4}"), type: null, instance: null);
            usbUdev.Insert(0, new("ID_PATH", idPath));
            usbUdev.Insert(1, new("ID_PATH_TAG", PathTag(idPath)));
            if (_vendorId == SeedVendor)
            {
                usbUdev.Add(new("ID_VENDOR_FROM_DATABASE", "Alcor Micro Corp."));
                usbUdev.Add(new("ID_MODEL_FROM_DATABASE", "Flash Drive"));
            }

            usbUdev.Add(new("TAGS", ":systemd:"));
            usbUdev.Add(new("CURRENT_TAGS", ":systemd:"));

            var usbKernelEnv = new List<KeyValuePair<string, string>>
            {
                new("MAJOR", "189"), new("MINOR", minor.ToString(CultureInfo.InvariantCulture)), new("DEVNAME", devName),
                new("DRIVER", "usb"), new("PRODUCT", product), new("TYPE", type),
                new("BUSNUM", _bus.ToString("d3", CultureInfo.InvariantCulture)), new("DEVNUM", devNum.ToString("d3", CultureInfo.InvariantCulture)),
            };
            if (_unconfigured)
            {
                usbKernelEnv.RemoveAll(kv => kv.Key == "DRIVER");
            }

            Node usb = fx.CreateNode(devPath, "usb", "usb_device", _unconfigured ? null : "usb", "bus/usb", usbKernelEnv, usbUdev);
            WriteAttribute(usb, "idVendor", _vendorId);
            WriteAttribute(usb, "idProduct", _productId);
            WriteAttribute(usb, "bcdDevice", string.Create(CultureInfo.InvariantCulture, $"{_bcd:x4}"));
            if (_manufacturer is not null)
            {
                WriteAttribute(usb, "manufacturer", _manufacturer);
            }

            if (_product is not null)
            {
                WriteAttribute(usb, "product", _product);
            }

            if (_serial is not null)
            {
                WriteAttribute(usb, "serial", _serial);
            }
            else if (_serialBytes is not null)
            {
                WriteAttributeBytes(usb, "serial", [.. _serialBytes, (byte)'\n']);
            }

            WriteAttribute(usb, "busnum", busText);
            WriteAttribute(usb, "devnum", devNum.ToString(CultureInfo.InvariantCulture));
            WriteAttribute(usb, "devpath", _portPath.Length == 0 ? "0" : _portPath);
            WriteAttribute(usb, "dev", "189:" + minor.ToString(CultureInfo.InvariantCulture));
            WriteAttribute(usb, "speed", "480");
            WriteAttribute(usb, "version", " 2.00");
            WriteAttribute(usb, "maxchild", _deviceClass == 0x09 ? "4" : "0");
            WriteAttribute(usb, "bDeviceClass", _deviceClass.ToString("x2", CultureInfo.InvariantCulture));
            WriteAttribute(usb, "bDeviceSubClass", "00");
            WriteAttribute(usb, "bDeviceProtocol", "00");
            WriteAttribute(usb, "bNumConfigurations", "1");
            if (_unconfigured)
            {
                foreach (string name in new[] { "bNumInterfaces", "bConfigurationValue", "bmAttributes", "bMaxPower" })
                {
                    File.WriteAllText(Path.Join(usb.Directory, name), string.Empty);
                }
            }
            else
            {
                WriteAttribute(usb, "bNumInterfaces", _interfaces.Count.ToString("d", CultureInfo.InvariantCulture).PadLeft(2));
                WriteAttribute(usb, "bConfigurationValue", "1");
                WriteAttribute(usb, "bmAttributes", "80");
                WriteAttribute(usb, "bMaxPower", "100mA");
            }

            WriteAttribute(usb, "removable", _portPath.Length == 0 ? "unknown" : "removable");
            WriteAttribute(usb, "authorized", "1");
            if (!_noDescriptors)
            {
                WriteAttributeBytes(usb, "descriptors", _descriptors ?? MakeDescriptors(vid, pid));
            }

            var interfaceNodes = new List<Node>();
            for (int i = 0; i < (_unconfigured ? 0 : _interfaces.Count); i++)
            {
                var (cls, sub, proto, driver) = _interfaces[i];
                string ifKernel = string.Create(CultureInfo.InvariantCulture, $"{(_portPath.Length == 0 ? busText + "-0" : kernel)}:1.{i}");
                string modalias = string.Create(CultureInfo.InvariantCulture,
                    $"usb:v{vid:X4}p{pid:X4}d{_bcd:X4}dc{_deviceClass:X2}dsc00dp00ic{cls:X2}isc{sub:X2}ip{proto:X2}in{i:X2}");
                Node iface = fx.CreateNode(devPath + "/" + ifKernel, "usb", "usb_interface", driver, "bus/usb",
                    [
                        new("DRIVER", driver), new("PRODUCT", product), new("TYPE", type),
                        new("INTERFACE", string.Create(CultureInfo.InvariantCulture, $"{cls}/{sub}/{proto}")), new("MODALIAS", modalias),
                    ],
                    _vendorId == SeedVendor ? [new("ID_VENDOR_FROM_DATABASE", "Alcor Micro Corp."), new("ID_MODEL_FROM_DATABASE", "Flash Drive")] : []);
                WriteAttribute(iface, "bInterfaceNumber", i.ToString("x2", CultureInfo.InvariantCulture));
                WriteAttribute(iface, "bAlternateSetting", " 0");
                WriteAttribute(iface, "bInterfaceClass", cls.ToString("x2", CultureInfo.InvariantCulture));
                WriteAttribute(iface, "bInterfaceSubClass", sub.ToString("x2", CultureInfo.InvariantCulture));
                WriteAttribute(iface, "bInterfaceProtocol", proto.ToString("x2", CultureInfo.InvariantCulture));
                WriteAttribute(iface, "bNumEndpoints", cls == 0x08 ? "02" : "01");
                WriteAttribute(iface, "modalias", modalias);
                WriteAttribute(iface, "authorized", "1");
                interfaceNodes.Add(iface);
            }

            Node? host = null, target = null, scsi = null, disk = null, partition = null;
            int storageIndex = _interfaces.FindIndex(i => i.Class == 0x08);
            if (_disk is not null && storageIndex >= 0 && !_unconfigured)
            {
                Node storage = interfaceNodes[storageIndex];
                int h = _scsiHost ?? fx._nextScsiHost;
                fx._nextScsiHost = Math.Max(fx._nextScsiHost, h + 1);
                string hs = h.ToString(CultureInfo.InvariantCulture);
                host = fx.CreateNode(storage.DevPath + "/host" + hs, "scsi", "scsi_host", null, "bus/scsi", []);
                target = fx.CreateNode(host.DevPath + "/target" + hs + ":0:0", "scsi", "scsi_target", null, "bus/scsi", []);
                scsi = fx.CreateNode(target.DevPath + "/" + hs + ":0:0:0", "scsi", "scsi_device", "sd", "bus/scsi",
                    [new("DRIVER", "sd"), new("MODALIAS", "scsi:t-0x00")]);
                // The inquiry strings are space-padded to 8 and 16 bytes.
                WriteAttribute(scsi, "vendor", _scsiVendor.PadRight(8));
                WriteAttribute(scsi, "model", _scsiModel.PadRight(16));
                WriteAttribute(scsi, "rev", _scsiRev.PadRight(4));
                WriteAttribute(scsi, "type", "0");
                WriteAttribute(scsi, "state", "running");
                WriteAttribute(scsi, "scsi_level", "7");

                string scsiPath = idPath + ":1." + storageIndex.ToString(CultureInfo.InvariantCulture) + "-scsi-0:0:0:0";
                string safeSerial = serialText is not null && UdevAcceptsSerial(serialText) ? UdevSafe(serialText) : string.Empty;
                var storageUdev = UsbIdProperties(_scsiVendor.PadRight(8), _scsiModel.PadRight(16), serialText, interfaces, UdevSafe(_scsiRev), "disk", "0:0");
                storageUdev.Add(new("ID_USB_INTERFACE_NUM", storageIndex.ToString("x2", CultureInfo.InvariantCulture)));
                storageUdev.Add(new("ID_USB_DRIVER", "usb-storage"));
                storageUdev.Add(new("ID_PATH", scsiPath));
                storageUdev.Add(new("ID_PATH_TAG", PathTag(scsiPath)));
                string byId = "/dev/disk/by-id/usb-" + UdevSafe(_scsiVendor) + "_" + UdevSafe(_scsiModel) + (safeSerial.Length > 0 ? "_" + safeSerial : string.Empty) + "-0:0";

                int letter = _disk[^1] - 'a';
                int diskMinor = letter * 16;
                long sectors = _sizeBytes / 512;
                string diskSeq = (fx._diskSeq++).ToString(CultureInfo.InvariantCulture);
                var diskUdev = new List<KeyValuePair<string, string>>(storageUdev);
                if (_partition is not null)
                {
                    diskUdev.Add(new("ID_PART_TABLE_UUID", "c3072e18"));
                    diskUdev.Add(new("ID_PART_TABLE_TYPE", "dos"));
                }
                else if (_diskFilesystem is { } dfs)
                {
                    diskUdev.AddRange(FsProperties(dfs.FsType, dfs.Label, dfs.Uuid, null));
                }

                diskUdev.Add(new("DEVLINKS", byId + " /dev/disk/by-path/" + scsiPath + " /dev/disk/by-diskseq/" + diskSeq));
                diskUdev.Add(new("TAGS", ":systemd:"));
                diskUdev.Add(new("CURRENT_TAGS", ":systemd:"));
                disk = fx.CreateNode(scsi.DevPath + "/block/" + _disk, "block", "disk", null, "class/block",
                    [new("MAJOR", "8"), new("MINOR", diskMinor.ToString(CultureInfo.InvariantCulture)), new("DEVNAME", _disk), new("DISKSEQ", diskSeq)],
                    diskUdev);
                File.CreateSymbolicLink(Path.Join(disk.Directory, "device"), "../../../" + scsi.Kernel);
                WriteAttribute(disk, "size", sectors.ToString(CultureInfo.InvariantCulture));
                WriteAttribute(disk, "removable", _removable ? "1" : "0");
                WriteAttribute(disk, "ro", "0");
                WriteAttribute(disk, "dev", "8:" + diskMinor.ToString(CultureInfo.InvariantCulture));
                WriteAttribute(disk, "range", "16");
                WriteAttribute(disk, "ext_range", "256");
                WriteAttribute(disk, "capability", "1");
                WriteAttribute(disk, "diskseq", diskSeq);

                if (_partition is { } p)
                {
                    string part = _disk + "1";
                    long partSectors = sectors - 2048;
                    var partUdev = new List<KeyValuePair<string, string>>(storageUdev);
                    partUdev.AddRange(FsProperties(p.FsType, p.Label, p.Uuid, p.FsVersion));
                    partUdev.Add(new("ID_PART_TABLE_UUID", "c3072e18"));
                    partUdev.Add(new("ID_PART_TABLE_TYPE", "dos"));
                    partUdev.Add(new("ID_PART_ENTRY_SCHEME", "dos"));
                    partUdev.Add(new("ID_PART_ENTRY_UUID", "c3072e18-01"));
                    partUdev.Add(new("ID_PART_ENTRY_TYPE", "0xc"));
                    partUdev.Add(new("ID_PART_ENTRY_NUMBER", "1"));
                    partUdev.Add(new("ID_PART_ENTRY_OFFSET", "2048"));
                    partUdev.Add(new("ID_PART_ENTRY_SIZE", partSectors.ToString(CultureInfo.InvariantCulture)));
                    partUdev.Add(new("ID_PART_ENTRY_DISK", "8:" + diskMinor.ToString(CultureInfo.InvariantCulture)));
                    string links = byId + "-part1 /dev/disk/by-path/" + scsiPath + "-part1";
                    if (p.Label is not null)
                    {
                        links += " /dev/disk/by-label/" + UdevEncode(p.Label);
                    }

                    if (p.Uuid is not null)
                    {
                        links += " /dev/disk/by-uuid/" + UdevEncode(p.Uuid);
                    }

                    partUdev.Add(new("DEVLINKS", links));
                    partUdev.Add(new("TAGS", ":systemd:"));
                    partUdev.Add(new("CURRENT_TAGS", ":systemd:"));
                    partition = fx.CreateNode(disk.DevPath + "/" + part, "block", "partition", null, "class/block",
                        [
                            new("MAJOR", "8"), new("MINOR", (diskMinor + 1).ToString(CultureInfo.InvariantCulture)), new("DEVNAME", part),
                            new("DISKSEQ", diskSeq), new("PARTN", "1"),
                        ],
                        partUdev);
                    WriteAttribute(partition, "partition", "1");
                    WriteAttribute(partition, "start", "2048");
                    WriteAttribute(partition, "size", partSectors.ToString(CultureInfo.InvariantCulture));
                    WriteAttribute(partition, "ro", "0");
                    WriteAttribute(partition, "dev", "8:" + (diskMinor + 1).ToString(CultureInfo.InvariantCulture));
                }
            }

            return new Drive(usb, interfaceNodes, host, target, scsi, disk, partition, _bus, _portPath, devNum, _vendorId, _productId, serialText);
        }

        private List<KeyValuePair<string, string>> UsbIdProperties(string vendor, string model, string? serial, string interfaces, string revision, string? type, string? instance)
        {
            string vendorSafe = UdevSafe(vendor);
            string modelSafe = UdevSafe(model);
            string serialSafe = serial is not null && UdevAcceptsSerial(serial) ? UdevSafe(serial) : string.Empty;
            string idSerial = vendorSafe + "_" + modelSafe + (serialSafe.Length > 0 ? "_" + serialSafe : string.Empty) + (instance is null ? string.Empty : "-" + instance);
            var list = new List<KeyValuePair<string, string>>();
            foreach (string prefix in new[] { "ID_", "ID_USB_" })
            {
                list.Add(new(prefix + "MODEL", modelSafe));
                list.Add(new(prefix + "MODEL_ENC", UdevEncode(model)));
                list.Add(new(prefix + "MODEL_ID", _productId));
                list.Add(new(prefix + "SERIAL", idSerial));
                if (serialSafe.Length > 0)
                {
                    list.Add(new(prefix + "SERIAL_SHORT", serialSafe));
                }

                list.Add(new(prefix + "VENDOR", vendorSafe));
                list.Add(new(prefix + "VENDOR_ENC", UdevEncode(vendor)));
                list.Add(new(prefix + "VENDOR_ID", _vendorId));
                list.Add(new(prefix + "REVISION", revision));
                if (type is not null)
                {
                    list.Add(new(prefix + "TYPE", type));
                }

                if (instance is not null)
                {
                    list.Add(new(prefix + "INSTANCE", instance));
                }

                if (prefix == "ID_")
                {
                    list.Add(new("ID_BUS", "usb"));
                }
            }

            list.Add(new("ID_USB_INTERFACES", interfaces));
            return list;
        }

        private static IEnumerable<KeyValuePair<string, string>> FsProperties(string fsType, string? label, string? uuid, string? version)
        {
            if (uuid is not null)
            {
                yield return new("ID_FS_UUID", UdevSafe(uuid));
                yield return new("ID_FS_UUID_ENC", UdevEncode(uuid));
            }

            if (label is not null)
            {
                yield return new("ID_FS_LABEL", UdevSafe(label));
                yield return new("ID_FS_LABEL_ENC", UdevEncode(label));
            }

            if (version is not null)
            {
                yield return new("ID_FS_VERSION", version);
            }

            yield return new("ID_FS_TYPE", fsType);
            yield return new("ID_FS_USAGE", "filesystem");
        }

        private static string PathTag(string idPath) => new(idPath.Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '_').ToArray());

        // The device descriptor followed by the active configuration, as the sysfs "descriptors" file holds them.
        private byte[] MakeDescriptors(ushort vid, ushort pid)
        {
            var d = new List<byte>
            {
                18, 0x01, 0x00, 0x02, _deviceClass, 0, 0, 64,
                (byte)vid, (byte)(vid >> 8), (byte)pid, (byte)(pid >> 8), (byte)_bcd, (byte)(_bcd >> 8),
                1, 2, (byte)(_serial is null && _serialBytes is null ? 0 : 3), 1,
            };
            var config = new List<byte>();
            for (int i = 0; i < _interfaces.Count; i++)
            {
                var (cls, sub, proto, _) = _interfaces[i];
                int endpoints = cls == 0x08 ? 2 : 1;
                config.AddRange([9, 0x04, (byte)i, 0, (byte)endpoints, cls, sub, proto, 0]);
                for (int e = 0; e < endpoints; e++)
                {
                    config.AddRange([7, 0x05, (byte)(e == 0 ? 0x81 + i : 0x02 + i), (byte)(cls == 0x08 ? 2 : 3), 0, 2, 0]);
                }
            }

            int total = 9 + config.Count;
            d.AddRange([9, 0x02, (byte)total, (byte)(total >> 8), (byte)_interfaces.Count, 1, 0, 0x80, 50]);
            d.AddRange(config);
            return [.. d];
        }
    }
}
