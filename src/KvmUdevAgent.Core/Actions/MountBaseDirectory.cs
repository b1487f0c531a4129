using System.Globalization;
using System.Text;
using KvmUdevAgent.Core.Paths;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// The mount base, opened as a directory descriptor so that mount points are made and removed
/// with <c>mkdirat</c>/<c>unlinkat</c> on single names relative to it: no path walk that a
/// planted symlink could redirect.
/// </summary>
internal sealed class MountBaseDirectory : IDisposable
{
    internal enum ClaimResult
    {
        Unknown = 0,
        Created,
        ReusedEmpty,
        Taken,
        Error,
    }

    private readonly string _path;
    private int _fd;

    private MountBaseDirectory(string path, int fd)
    {
        _path = path;
        _fd = fd;
    }

    /// <summary>
    /// Opens the base through <see cref="TrustedPath"/>: no symlink anywhere in the path (the real
    /// path must be the configured one, so mountinfo comparisons hold and nothing is mounted
    /// elsewhere), every parent owned by root and not writable by group or others (whoever can
    /// write a parent can swap the base for a symlink between our checks and the mount, issue 17),
    /// and the base itself a directory owned by us (root), not writable by group or others.
    /// </summary>
    public static unsafe bool TryOpen(string path, bool create, out MountBaseDirectory directory, out string reason)
    {
        directory = null!;
        if (!Path.IsPathFullyQualified(path) || path == "/")
        {
            reason = $"mount base '{path}' must be an absolute directory other than /";
            return false;
        }
        if (!TrustedPath.TryOpenDirectory(path, "mount base", geteuid(), create ? MountDefaults.BaseMode : null, out var fd, out var missing, out reason))
        {
            if (missing && !create)
            {
                reason = $"mount base '{path}' does not exist";
            }
            return false;
        }
        stat st;
        if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode))
        {
            _ = close(fd);
            reason = $"mount base '{path}' is not a directory";
            return false;
        }
        if ((uint)st.st_uid != geteuid() || ((uint)st.st_mode & (uint)(S_IWGRP | S_IWOTH)) != 0)
        {
            _ = close(fd);
            reason = $"mount base '{path}' must be owned by uid {geteuid()} and not writable by group or others (chown root; chmod go-w)";
            return false;
        }
        directory = new MountBaseDirectory(path, fd);
        reason = "";
        return true;
    }

    /// <summary>
    /// <paramref name="name"/> in the opened base as mount(8) and umount(8) must be given it:
    /// through this process's descriptor (<c>/proc/PID/fd/N/name</c>, used with <c>-c</c> so it is
    /// not canonicalised), so the kernel resolves the directory we checked, whatever happens to
    /// the configured path meanwhile. The name is one component in a directory only root can write.
    /// </summary>
    public string ProcPath(string name) =>
        string.Create(CultureInfo.InvariantCulture, $"/proc/{Environment.ProcessId}/fd/{_fd}/{name}");

    /// <summary>
    /// Makes <paramref name="name"/> (one sanitised component) the mount point: creates it
    /// (0700), or reuses an existing empty directory (left by a crash). A non-directory, a
    /// symlink or a non-empty directory is <see cref="ClaimResult.Taken"/>. The caller has
    /// already checked it is not a mount point.
    /// </summary>
    public unsafe ClaimResult Claim(string name, out string reason)
    {
        fixed (byte* p = Utf8(name))
        {
            if (mkdirat(_fd, p, (mode_t)(uint)MountDefaults.MountPointMode) == 0)
            {
                reason = "";
                return ClaimResult.Created;
            }
            var error = errno;
            if (error != EEXIST)
            {
                reason = $"cannot create '{_path}/{name}': errno {error}";
                return ClaimResult.Error;
            }
            stat st;
            if (fstatat(_fd, p, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
            {
                reason = "exists and is not a directory";
                return ClaimResult.Taken;
            }
        }
        try
        {
            // Not a symlink (checked above), inside a base only we can write.
            if (Directory.EnumerateFileSystemEntries(ProcPath(name)).Any())
            {
                reason = "directory is not empty";
                return ClaimResult.Taken;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = e.Message;
            return ClaimResult.Taken;
        }
        reason = "";
        return ClaimResult.ReusedEmpty;
    }

    /// <summary>Removes <paramref name="name"/> if it is an empty directory. Gone already is fine; otherwise says why it stays.</summary>
    public unsafe bool RemoveEmpty(string name, out string? remark)
    {
        fixed (byte* p = Utf8(name))
        {
            if (unlinkat(_fd, p, AT_REMOVEDIR) == 0)
            {
                remark = null;
                return true;
            }
        }
        var error = errno;
        remark = error == ENOENT ? null
            : error == ENOTEMPTY ? $"directory '{_path}/{name}' is not empty, left in place"
            : $"cannot remove '{_path}/{name}': errno {error}";
        return error == ENOENT;
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s + "\0");
}
