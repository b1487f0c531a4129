using System.Buffers;
using System.Diagnostics;
using System.Text;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// Turns the devices already present in sysfs into <c>add</c> events marked coldplug, the way
/// <c>udevadm trigger</c> would make the kernel announce them: USB devices and interfaces from
/// <c>bus/usb/devices</c>, block devices from <c>class/block</c>. Each event carries ACTION, DEVPATH,
/// SUBSYSTEM and then the device's <c>uevent</c> file (DEVTYPE, DEVNAME, MAJOR, MINOR, PRODUCT, ...),
/// as raw bytes. Parents come before children. Devices that vanish while being read are skipped.
/// </summary>
internal sealed class ColdplugEnumerator(string sysfsRoot)
{
    // A uevent file is a few hundred bytes; anything larger is not one.
    private const int MaxUeventBytes = 16 * 1024;

    private static readonly (string Directory, string Subsystem)[] s_sources =
    [
        ("bus/usb/devices", "usb"),
        ("class/block", "block"),
    ];

    public string SysfsRoot { get; } = sysfsRoot;

    /// <summary>
    /// The present devices' DEVPATHs (<c>/devices/...</c>), parents before children, without reading
    /// their uevent files. Used by a resync to tell which remembered devices went away.
    /// </summary>
    public IReadOnlyList<(string DevPath, string Subsystem)> ListDevices()
    {
        string root = Path.GetFullPath(SysfsRoot).TrimEnd('/');
        string devicesPrefix = root + "/devices/";
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (directory, subsystem) in s_sources)
        {
            string dir = Path.Join(root, directory);
            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (string entry in entries)
            {
                string? target = ResolveLink(entry);
                if (target is null || !target.StartsWith(devicesPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                found.TryAdd(target[root.Length..], subsystem);
            }
        }

        var list = found.Select(kv => (kv.Key, kv.Value)).ToList();
        // Depth first, so every parent is announced before its children, as the kernel does.
        list.Sort(static (a, b) =>
        {
            int c = Depth(a.Key).CompareTo(Depth(b.Key));
            return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
        });
        return list;
    }

    /// <summary>Yields one coldplug <c>add</c> event per present USB and block device, parents first.</summary>
    public IEnumerable<Uevent> Enumerate(CancellationToken cancellationToken)
    {
        foreach (var (devPath, subsystem) in ListDevices())
        {
            cancellationToken.ThrowIfCancellationRequested();
            Uevent? uevent = TryRead(devPath, subsystem);
            if (uevent is not null)
            {
                yield return uevent;
            }
        }
    }

    /// <summary>
    /// Builds the <c>add</c> event of one device given only its DEVPATH (<c>/devices/...</c>), taking the
    /// subsystem from its <c>subsystem</c> link; for <c>test --devpath</c> and <c>devices</c>. Null when
    /// the path is not a device under the root.
    /// </summary>
    public Uevent? TryRead(string devPath)
    {
        if (!devPath.StartsWith("/devices/", StringComparison.Ordinal) || devPath.Contains("/..", StringComparison.Ordinal) || devPath.Contains("/./", StringComparison.Ordinal))
        {
            return null;
        }

        string? subsystem = new SysfsDevice(SysfsRoot, devPath.TrimEnd('/')).Subsystem;
        return subsystem is null ? null : TryRead(devPath.TrimEnd('/'), subsystem);
    }

    /// <summary>Builds the coldplug <c>add</c> event of one device; null when it is gone or not a device.</summary>
    public Uevent? TryRead(string devPath, string subsystem)
    {
        // One pooled buffer for every device: a fresh 16 KiB per device was most of what coldplug
        // allocated at start (issue 15), for files of a few hundred bytes.
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxUeventBytes);
        try
        {
            string path = Path.Join(SysfsRoot, devPath, "uevent");
            int total = 0;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
            {
                int read;
                while (total < MaxUeventBytes && (read = stream.Read(buffer, total, MaxUeventBytes - total)) > 0)
                {
                    total += read;
                }
            }

            return Build(devPath, subsystem, buffer.AsSpan(0, total));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Uevent Build(string devPath, string subsystem, ReadOnlySpan<byte> ueventFile)
    {
        var data = new List<byte>(64 + devPath.Length + ueventFile.Length);
        var slices = new List<PropertySlice>(12);
        Add(data, slices, "ACTION"u8, "add"u8);
        Add(data, slices, "DEVPATH"u8, Encoding.UTF8.GetBytes(devPath));
        Add(data, slices, "SUBSYSTEM"u8, Encoding.UTF8.GetBytes(subsystem));

        // The file is KEY=VALUE lines; values are kept as bytes, whatever they contain.
        while (!ueventFile.IsEmpty)
        {
            int nl = ueventFile.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = nl < 0 ? ueventFile : ueventFile[..nl];
            ueventFile = nl < 0 ? default : ueventFile[(nl + 1)..];
            int eq = line.IndexOf((byte)'=');
            if (eq <= 0 || line.Contains((byte)0))
            {
                continue;
            }

            ReadOnlySpan<byte> key = line[..eq];
            // ACTION/DEVPATH/SUBSYSTEM come from the walk, never from the file.
            if (key.SequenceEqual("ACTION"u8) || key.SequenceEqual("DEVPATH"u8) || key.SequenceEqual("SUBSYSTEM"u8))
            {
                continue;
            }

            Add(data, slices, key, line[(eq + 1)..]);
        }

        return new Uevent(UeventSource.Sysfs, [.. data], [.. slices], coldplug: true, Stopwatch.GetTimestamp());
    }

    private static void Add(List<byte> data, List<PropertySlice> slices, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int keyOffset = data.Count;
        data.AddRange(key);
        data.Add((byte)'=');
        int valueOffset = data.Count;
        data.AddRange(value);
        slices.Add(new PropertySlice(keyOffset, key.Length, valueOffset, value.Length));
        data.Add(0);
    }

    private static string? ResolveLink(string entry)
    {
        try
        {
            string? target = new FileInfo(entry).LinkTarget;
            if (target is null)
            {
                return null;
            }

            // sysfs links are relative (../../../devices/...); resolve lexically against the link's directory.
            return Path.GetFullPath(target, Path.GetDirectoryName(entry)!).TrimEnd('/');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int Depth(string devPath) => devPath.AsSpan().Count('/');
}
