using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Devices;

/// <summary>Device node paths taken from events (DEVNAME), checked before anything opens or passes them on.</summary>
internal static class DeviceNode
{
    private const int MaxLength = 255;

    /// <summary>
    /// Turns DEVNAME (<c>sdb1</c> from the kernel, <c>/dev/sdb1</c> from udev) into an absolute node
    /// path under <c>/dev</c> made only of <c>[A-Za-z0-9._+:-]</c> segments, with no <c>.</c> or
    /// <c>..</c> segment. Anything else is refused with a reason.
    /// </summary>
    public static bool TryNormalize(string? devName, [NotNullWhen(true)] out string? devNode, [NotNullWhen(false)] out string? reason)
    {
        devNode = null;
        if (string.IsNullOrEmpty(devName))
        {
            reason = "no DEVNAME";
            return false;
        }

        string path = devName.StartsWith("/dev/", StringComparison.Ordinal) ? devName : devName.StartsWith('/') ? string.Empty : "/dev/" + devName;
        if (path.Length <= "/dev/".Length || path.Length > MaxLength)
        {
            reason = "device node is not a simple path under /dev";
            return false;
        }

        foreach (var segment in path.AsSpan("/dev/".Length).Split('/'))
        {
            ReadOnlySpan<char> s = path.AsSpan("/dev/".Length)[segment];
            if (s.IsEmpty || s is "." or "..")
            {
                reason = "device node is not a simple path under /dev";
                return false;
            }

            foreach (char c in s)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '+' or ':' or '-'))
                {
                    reason = "device node has characters outside [A-Za-z0-9._+:-]";
                    return false;
                }
            }
        }

        devNode = path;
        reason = null;
        return true;
    }

    /// <summary>True when <paramref name="path"/> exists and is a block device (never follows it into anything else).</summary>
    public static unsafe bool IsBlockDevice(string path)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        Tmds.Linux.stat st;
        fixed (byte* p = bytes)
        {
            if (Tmds.Linux.LibC.stat(p, &st) != 0)
            {
                return false;
            }
        }

        return Tmds.Linux.LibC.S_ISBLK(st.st_mode);
    }
}
