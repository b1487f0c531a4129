using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Actions;

/// <summary>Checks that a mount source is really a block device node under <c>/dev</c>.</summary>
internal static class MountDeviceNode
{
    /// <summary>
    /// Accepts an absolute path under <c>/dev/</c> without <c>.</c>/<c>..</c> segments or NUL
    /// that names a block device. A symlink (<c>/dev/disk/by-label/…</c>) is resolved and its
    /// target must pass the same checks; <paramref name="resolved"/> is that target, which is
    /// what mount(8) gets and what mountinfo will show as the source.
    /// </summary>
    public static bool TryValidate(string devNode, out string resolved, out uint major, out uint minor, out string reason)
    {
        resolved = "";
        major = minor = 0;
        if (!IsCleanDevPath(devNode, out reason))
        {
            return false;
        }
        var path = devNode;
        var info = new FileInfo(devNode);
        if (info.LinkTarget is not null)
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !IsCleanDevPath(Path.GetFullPath(target.FullName), out reason))
            {
                reason = $"device node '{devNode}' is a symlink that leaves /dev";
                return false;
            }
            path = Path.GetFullPath(target.FullName);
        }
        if (!TryStat(path, out var st))
        {
            reason = $"device node '{devNode}' does not exist";
            return false;
        }
        if (!S_ISBLK(st.st_mode))
        {
            reason = $"'{devNode}' is not a block device";
            return false;
        }
        resolved = path;
        major = (uint)(((ulong)st.st_rdev >> 8) & 0xfff) | (uint)(((ulong)st.st_rdev >> 32) & 0xfffff000);
        minor = (uint)((ulong)st.st_rdev & 0xff) | (uint)(((ulong)st.st_rdev >> 12) & 0xffffff00);
        return true;
    }

    private static bool IsCleanDevPath(string path, out string reason)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            reason = "device node is empty or contains NUL";
            return false;
        }
        if (!path.StartsWith("/dev/", StringComparison.Ordinal))
        {
            reason = $"device node '{path}' is not an absolute path under /dev";
            return false;
        }
        foreach (var range in path.AsSpan(1).Split('/'))
        {
            var segment = path.AsSpan(1)[range];
            if (segment.IsEmpty || segment is "." or "..")
            {
                reason = $"device node '{path}' has an empty, '.' or '..' segment";
                return false;
            }
        }
        reason = "";
        return true;
    }

    internal static unsafe bool TryStat(string path, out stat st)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        stat buffer;
        fixed (byte* p = bytes)
        {
            if (stat(p, &buffer) != 0)
            {
                st = default;
                return false;
            }
        }
        st = buffer;
        return true;
    }
}
