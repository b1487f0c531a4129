using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Reads and queries the mount table from <c>/proc/self/mountinfo</c>: the mount namespace's
/// own truth, unlike <c>/etc/mtab</c> or our state file.
/// </summary>
internal static class MountInfo
{
    public const string DefaultPath = "/proc/self/mountinfo";

    /// <summary>
    /// Reads the whole table. Unparsable lines are skipped (the kernel's format is stable; a
    /// line we cannot read is not a mount we made).
    /// </summary>
    public static IReadOnlyList<MountInfoEntry> Read(string path = DefaultPath)
    {
        // procfs files report size 0; ReadAllBytes reads until EOF in one consistent snapshot
        // as long as the table fits the kernel's seq_file buffer per read, which it re-fills
        // from a consistent cursor.
        var data = File.ReadAllBytes(path);
        return Parse(data);
    }

    public static IReadOnlyList<MountInfoEntry> Parse(ReadOnlySpan<byte> data)
    {
        var entries = new List<MountInfoEntry>();
        while (!data.IsEmpty)
        {
            var end = data.IndexOf((byte)'\n');
            var line = end < 0 ? data : data[..end];
            data = end < 0 ? [] : data[(end + 1)..];
            if (!line.IsEmpty && TryParseLine(line, out var entry, out _))
            {
                entries.Add(entry);
            }
        }
        return entries;
    }

    /// <summary>
    /// Parses one line: <c>ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS</c>.
    /// </summary>
    public static bool TryParseLine(ReadOnlySpan<byte> line, out MountInfoEntry entry, out string reason)
    {
        entry = null!;
        Span<Range> fields = stackalloc Range[64];
        var count = 0;
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            if (i == line.Length || line[i] == (byte)' ')
            {
                if (count == fields.Length)
                {
                    reason = "too many fields";
                    return false;
                }
                fields[count++] = new Range(start, i);
                start = i + 1;
            }
        }
        var separator = -1;
        for (var i = 6; i < count; i++)
        {
            if (line[fields[i]].SequenceEqual("-"u8))
            {
                separator = i;
                break;
            }
        }
        if (count < 10 || separator < 0 || count < separator + 4)
        {
            reason = "missing fields or the ' - ' separator";
            return false;
        }
        if (!TryParseInt(line[fields[0]], out var mountId) || !TryParseInt(line[fields[1]], out var parentId))
        {
            reason = "mount id is not a number";
            return false;
        }
        var device = line[fields[2]];
        var colon = device.IndexOf((byte)':');
        if (colon < 0 || !TryParseUInt(device[..colon], out var major) || !TryParseUInt(device[(colon + 1)..], out var minor))
        {
            reason = "bad major:minor";
            return false;
        }
        entry = new MountInfoEntry
        {
            MountId = mountId,
            ParentId = parentId,
            Major = major,
            Minor = minor,
            Root = Unescape(line[fields[3]]),
            MountPoint = Unescape(line[fields[4]]),
            MountOptions = Unescape(line[fields[5]]),
            FsType = Unescape(line[fields[separator + 1]]),
            Source = Unescape(line[fields[separator + 2]]),
            SuperOptions = Unescape(line[fields[separator + 3]]),
        };
        reason = "";
        return true;
    }

    /// <summary>The topmost mount at exactly <paramref name="mountPoint"/>, or null.</summary>
    public static MountInfoEntry? FindByMountPoint(IReadOnlyList<MountInfoEntry> entries, string mountPoint)
    {
        // Later lines are mounted later, so the last match is the one on top of a stack.
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(entries[i].MountPoint, mountPoint, StringComparison.Ordinal))
            {
                return entries[i];
            }
        }
        return null;
    }

    /// <summary>
    /// Mounts directly inside <paramref name="mountBase"/> (one level: the layout this agent
    /// makes) whose source is <paramref name="devNode"/> or whose st_dev is <paramref name="major"/>:<paramref name="minor"/>.
    /// Pass null for <paramref name="devNode"/> and 0:0 to list every mount in the base.
    /// </summary>
    public static IReadOnlyList<MountInfoEntry> FindUnderBase(IReadOnlyList<MountInfoEntry> entries, string mountBase, string? devNode = null, uint major = 0, uint minor = 0)
    {
        var result = new List<MountInfoEntry>();
        var any = devNode is null && major == 0 && minor == 0;
        foreach (var e in entries)
        {
            if (!IsDirectChild(mountBase, e.MountPoint))
            {
                continue;
            }
            if (any
                || (devNode is not null && string.Equals(e.Source, devNode, StringComparison.Ordinal))
                || ((major != 0 || minor != 0) && e.Major == major && e.Minor == minor))
            {
                result.Add(e);
            }
        }
        return result;
    }

    internal static bool IsDirectChild(string directory, string path)
    {
        var parent = directory.TrimEnd('/');
        return path.Length > parent.Length + 1
            && path.StartsWith(parent, StringComparison.Ordinal)
            && path[parent.Length] == '/'
            && path.IndexOf('/', parent.Length + 1) < 0;
    }

    /// <summary>Decodes the kernel's <c>\ooo</c> escapes (seq_file mangle of space, tab, newline, backslash) as bytes, then UTF-8.</summary>
    internal static string Unescape(ReadOnlySpan<byte> field)
    {
        if (field.IndexOf((byte)'\\') < 0)
        {
            return Encoding.UTF8.GetString(field);
        }
        var buffer = field.Length <= 256 ? stackalloc byte[field.Length] : new byte[field.Length];
        var n = 0;
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && field[i + 1] is >= (byte)'0' and <= (byte)'3' && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                buffer[n++] = (byte)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0'));
                i += 3;
            }
            else
            {
                buffer[n++] = field[i];
            }
        }
        return Encoding.UTF8.GetString(buffer[..n]);
    }

    private static bool IsOctal(byte b) => b is >= (byte)'0' and <= (byte)'7';

    private static bool TryParseInt(ReadOnlySpan<byte> s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static bool TryParseUInt(ReadOnlySpan<byte> s, out uint value) =>
        uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
