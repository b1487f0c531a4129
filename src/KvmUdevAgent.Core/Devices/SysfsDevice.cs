namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// One device directory in sysfs (under a configurable root, so tests can use a fixture tree).
/// Attributes are read on first use and cached with trailing whitespace trimmed, as udev does
/// for ATTRS{} comparisons. A vanished directory reads as "no such attribute", never throws.
/// Thread-safe (the USB device cache shares one between the events of a device and its children).
/// </summary>
/// <remarks>
/// One is made per event (issue 15), and most read nothing or a few attributes: the path and the
/// cache cost nothing until used, and the cache is a short array replaced whole when it grows, read
/// without a lock (names are mostly the same string instances, compared by reference first).
/// </remarks>
internal sealed class SysfsDevice
{
    // Attributes larger than this are not values anyone matches on (descriptors, config blobs).
    private const int MaxAttributeBytes = 4096;
    private Attribute[] _attributes = [];
    private string? _directory;
    private string? _kernel;
    // Resolved parent: null until asked, s_noParent when there is none (no flag: one is made per event, issue 15).
    private static readonly SysfsDevice s_noParent = new(string.Empty, string.Empty);
    private SysfsDevice? _parent;
    private UsbName? _usbName;

    public SysfsDevice(string sysfsRoot, string devPath)
    {
        SysfsRoot = sysfsRoot;
        DevPath = devPath;
    }

    public string SysfsRoot { get; }

    /// <summary>DEVPATH, e.g. <c>/devices/pci0000:00/0000:00:14.0/usb2/2-1</c>.</summary>
    public string DevPath { get; }

    public string Directory => _directory ??= Path.Join(SysfsRoot, DevPath);

    public string Kernel => _kernel ??= DevPath.LastIndexOf('/') is var slash and >= 0 ? DevPath[(slash + 1)..] : DevPath;

    public bool Exists => System.IO.Directory.Exists(Directory);

    /// <summary>The subsystem: the name of the directory the <c>subsystem</c> link points at.</summary>
    public string? Subsystem => LinkName("subsystem");

    /// <summary>The bound driver's name, if any.</summary>
    public string? Driver => LinkName("driver");

    /// <summary>
    /// The parent device, or null at the top of <c>/devices</c>. Directories that are not devices
    /// (no <c>uevent</c> file, such as the <c>block</c> glue between a SCSI device and its disk)
    /// are skipped, as sd-device does; when the tree is gone (remove) the parent is purely lexical.
    /// </summary>
    public SysfsDevice? Parent
    {
        get
        {
            // Resolved once and kept, so ATTRS{} walks of many rules share one attribute cache per parent.
            SysfsDevice parent = _parent ??= ResolveParent() ?? s_noParent;
            return ReferenceEquals(parent, s_noParent) ? null : parent;
        }
    }

    private SysfsDevice? ResolveParent()
    {
        string path = DevPath;
        while (true)
        {
            int slash = path.LastIndexOf('/');
            if (slash <= 0)
            {
                return null;
            }

            path = path[..slash];
            if (path == "/devices" || !path.StartsWith("/devices/", StringComparison.Ordinal))
            {
                return null;
            }

            string dir = Path.Join(SysfsRoot, path);
            if (!System.IO.Directory.Exists(dir) || File.Exists(Path.Join(dir, "uevent")))
            {
                return new SysfsDevice(SysfsRoot, path);
            }
        }
    }

    /// <summary>
    /// <see cref="UsbKernelName.TryParse(ReadOnlySpan{char}, out int, out string?)"/> of the last segment of
    /// <see cref="DevPath"/>, parsed once: the USB device cache shares one device between all its events.
    /// </summary>
    public bool TryParseUsbName(out int bus, out string? portPath)
    {
        UsbName name = _usbName ??= UsbName.Of(DevPath);
        bus = name.Bus;
        portPath = name.PortPath;
        return name.Parsed;
    }

    /// <summary>DEVTYPE from the device's <c>uevent</c> file (<c>usb_device</c>, <c>disk</c>, ...), or null.</summary>
    public string? DevType => GetUeventProperty("DEVTYPE");

    /// <summary>One KEY=VALUE line of the device's <c>uevent</c> file, or null when absent or unreadable.</summary>
    public string? GetUeventProperty(string key)
    {
        string? file = GetAttribute("uevent");
        if (file is null)
        {
            return null;
        }

        foreach (var line in file.AsSpan().EnumerateLines())
        {
            if (line.Length > key.Length && line[key.Length] == '=' && line.StartsWith(key, StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..].ToString();
            }
        }

        return null;
    }

    /// <summary>
    /// The nearest device, this one included, with the given subsystem and DEVTYPE (udev's
    /// <c>sd_device_get_parent_with_subsystem_devtype</c>), or null.
    /// </summary>
    public SysfsDevice? FindSelfOrAncestor(string subsystem, string? devType)
    {
        foreach (SysfsDevice d in SelfAndAncestors())
        {
            if (d.Subsystem == subsystem && (devType is null || d.DevType == devType))
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>The child device directories (those with a <c>uevent</c> file), in ordinal order of their names.</summary>
    public IReadOnlyList<SysfsDevice> Children()
    {
        try
        {
            var list = new List<SysfsDevice>();
            foreach (string dir in System.IO.Directory.EnumerateDirectories(Directory))
            {
                // Links (subsystem, driver, port, ...) are not children.
                if (new DirectoryInfo(dir).LinkTarget is null && File.Exists(Path.Join(dir, "uevent")))
                {
                    list.Add(new SysfsDevice(SysfsRoot, DevPath + "/" + Path.GetFileName(dir)));
                }
            }

            list.Sort(static (a, b) => string.CompareOrdinal(a.Kernel, b.Kernel));
            return list;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>This device and then each parent up to <c>/devices</c>, as udev's ATTRS{} walks them.</summary>
    public IEnumerable<SysfsDevice> SelfAndAncestors()
    {
        for (SysfsDevice? d = this; d is not null; d = d.Parent)
        {
            yield return d;
        }
    }

    public bool TryGetAttribute(string name, out string value)
    {
        if (!TryFind(Volatile.Read(ref _attributes), name, out string? cached))
        {
            cached = Keep(name, Read(Directory, name));
        }

        value = cached ?? string.Empty;
        return cached is not null;
    }

    private static bool TryFind(Attribute[] attributes, string name, out string? value)
    {
        foreach (Attribute a in attributes)
        {
            if (ReferenceEquals(a.Name, name) || string.Equals(a.Name, name, StringComparison.Ordinal))
            {
                value = a.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    // The first value read for a name is the one kept, also when two threads read it at once.
    private string? Keep(string name, string? value)
    {
        while (true)
        {
            Attribute[] known = Volatile.Read(ref _attributes);
            if (TryFind(known, name, out string? first))
            {
                return first;
            }

            Attribute[] grown = [.. known, new Attribute(name, value)];
            if (Interlocked.CompareExchange(ref _attributes, grown, known) == known)
            {
                return value;
            }
        }
    }

    public string? GetAttribute(string name) => TryGetAttribute(name, out string v) ? v : null;

    private static string? Read(string directory, string name)
    {
        // Attribute names come from rules; never let one walk out of the device directory.
        if (name.Length == 0 || name.Contains('/') || name is "." or "..")
        {
            return null;
        }

        try
        {
            string path = Path.Join(directory, name);
            if (!File.Exists(path))
            {
                return null;
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            Span<byte> buffer = stackalloc byte[MaxAttributeBytes];
            int total = 0;
            int read;
            while (total < buffer.Length && (read = stream.Read(buffer[total..])) > 0)
            {
                total += read;
            }

            return System.Text.Encoding.UTF8.GetString(buffer[..total]).TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string? LinkName(string link)
    {
        try
        {
            var info = new FileInfo(Path.Join(Directory, link));
            string? target = info.LinkTarget;
            return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private readonly record struct Attribute(string Name, string? Value);

    private sealed record UsbName(bool Parsed, int Bus, string? PortPath)
    {
        public static UsbName Of(string devPath) =>
            new(UsbKernelName.TryParse(devPath.AsSpan(devPath.LastIndexOf('/') + 1), out int bus, out string? portPath), bus, portPath);
    }
}
