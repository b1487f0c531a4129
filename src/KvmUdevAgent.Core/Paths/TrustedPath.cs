using System.Globalization;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Paths;

/// <summary>
/// Opens a directory that root can trust (issue 17): walks the path from <c>/</c> one component
/// at a time with <c>openat(O_NOFOLLOW)</c>, checking each directory on the way through the
/// descriptor it just opened, and returns the descriptor of the last one. What the caller then
/// reads, creates or mounts relative to that descriptor is the directory that was checked, not
/// whatever the path names a moment later.
/// </summary>
/// <remarks>
/// Every directory above the target must be owned by root (or the expected owner) and not writable
/// by group or others: whoever can write a parent can rename the target away and put a symlink or
/// their own directory in its place. A sticky directory (<c>/tmp</c>) is the one exception when
/// the entry in it is owned by root (or the expected owner), because then nobody else may rename
/// or remove that entry. Symlinks are refused anywhere in the path (configure the real path).
/// </remarks>
internal static class TrustedPath
{
    private const uint StickyBit = 0x200; // S_ISVTX

    /// <summary>
    /// Opens <paramref name="path"/> (absolute, normalised) as a directory, read-only and
    /// close-on-exec. The directory itself is not judged here beyond not being a symlink: callers
    /// check its owner and mode with <c>fstat</c> on the descriptor.
    /// </summary>
    /// <param name="path">Absolute, without <c>.</c> or <c>..</c>.</param>
    /// <param name="what">How error messages name the directory, e.g. "mount base".</param>
    /// <param name="ownerUid">The owner allowed besides root (root in production; the test's uid in tests).</param>
    /// <param name="createMode">Create missing components with this mode; null: a missing one is an error with <paramref name="missing"/> set.</param>
    /// <param name="fd">The opened directory (the caller closes it); -1 on failure.</param>
    /// <param name="missing">On failure: true if a component does not exist.</param>
    /// <param name="reason">On failure: one line naming the component and what to do.</param>
    public static unsafe bool TryOpenDirectory(string path, string what, uint ownerUid, UnixFileMode? createMode, out int fd, out bool missing, out string reason)
    {
        fd = -1;
        missing = false;
        if (!Path.IsPathFullyQualified(path))
        {
            reason = $"{what} '{path}' must be an absolute path";
            return false;
        }

        string[] names = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (names.Any(n => n is "." or ".."))
        {
            reason = $"{what} '{path}' must not contain '.' or '..'; configure the real path";
            return false;
        }

        int current;
        fixed (byte* root = "/\0"u8)
        {
            current = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        }

        if (current < 0)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"cannot open /: errno {errno}");
            return false;
        }

        string prefix = "";
        bool looseParent = false;
        try
        {
            for (int i = 0; i <= names.Length; i++)
            {
                stat st;
                if (fstat(current, &st) != 0)
                {
                    reason = string.Create(CultureInfo.InvariantCulture, $"cannot stat '{Shown(prefix)}': errno {errno}");
                    return false;
                }

                uint uid = (uint)st.st_uid;
                uint mode = (uint)st.st_mode;
                if (looseParent && uid != 0 && uid != ownerUid)
                {
                    reason = string.Create(CultureInfo.InvariantCulture,
                        $"'{Shown(prefix)}' (on the way to {what} '{path}') is owned by uid {uid} in a directory anyone can write; every directory on the way must be root's (chown root '{Shown(prefix)}')");
                    return false;
                }

                if (i == names.Length)
                {
                    break;
                }

                // An ancestor of the target.
                if (uid != 0 && uid != ownerUid)
                {
                    reason = string.Create(CultureInfo.InvariantCulture,
                        $"'{Shown(prefix)}', a parent of {what} '{path}', is owned by uid {uid}; every directory above it must be owned by root (chown root '{Shown(prefix)}')");
                    return false;
                }

                bool writable = (mode & (uint)(S_IWGRP | S_IWOTH)) != 0;
                if (writable && (mode & StickyBit) == 0)
                {
                    reason = string.Create(CultureInfo.InvariantCulture,
                        $"'{Shown(prefix)}', a parent of {what} '{path}', is writable by {((mode & (uint)S_IWOTH) != 0 ? "others" : "its group")} (mode {Convert.ToString(mode & 0xfff, 8)}); only root may write the directories above it (chmod go-w '{Shown(prefix)}')");
                    return false;
                }

                looseParent = writable;
                prefix += "/" + names[i];
                int next = OpenChild(current, names[i]);
                if (next < 0 && errno == ENOENT && createMode is { } create)
                {
                    fixed (byte* p = Utf8(names[i]))
                    {
                        _ = mkdirat(current, p, (mode_t)(uint)create);
                    }

                    next = OpenChild(current, names[i]);
                }

                if (next < 0)
                {
                    int error = errno;
                    missing = error == ENOENT;
                    reason = error == ENOENT ? $"{what} '{path}' does not exist ('{prefix}' is missing)"
                        : error == ELOOP || (error == ENOTDIR && IsSymlink(current, names[i])) ? $"{what} '{path}' goes through the symlink '{prefix}'; configure the real path"
                        : error == ENOTDIR ? $"'{prefix}' (on the way to {what} '{path}') is not a directory"
                        : string.Create(CultureInfo.InvariantCulture, $"cannot open '{prefix}': errno {error}");
                    return false;
                }

                _ = close(current);
                current = next;
            }

            fd = current;
            current = -1;
            reason = "";
            return true;
        }
        finally
        {
            if (current >= 0)
            {
                _ = close(current);
            }
        }
    }

    private static unsafe int OpenChild(int parent, string name)
    {
        fixed (byte* p = Utf8(name))
        {
            return openat(parent, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        }
    }

    private static unsafe bool IsSymlink(int parent, string name)
    {
        stat st;
        fixed (byte* p = Utf8(name))
        {
            return fstatat(parent, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        }
    }

    private static string Shown(string prefix) => prefix.Length == 0 ? "/" : prefix;

    internal static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s + "\0");
}
