using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Refuses rule files and directories that someone other than the owner could change: hooks run
/// as root, so a rule file writable by a user is a root shell for that user. The expected owner is
/// a parameter (root in production, the test's own uid in tests).
/// </summary>
internal sealed class RulePermissions(uint expectedOwnerUid)
{
    public uint ExpectedOwnerUid { get; } = expectedOwnerUid;

    public static RulePermissions Root { get; } = new(0);

    public static uint CurrentUid => geteuid();

    /// <summary>Why a symlink is refused where a rule file or the rules directory belongs.</summary>
    public const string SymlinkRefused = "is a symbolic link; rule files and the rules directory must be real files owned by root (hooks run as root)";

    public unsafe bool Check(string path, bool isDirectory, [NotNullWhen(false)] out string? why)
    {
        statx buffer;
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        int rc;
        fixed (byte* p = bytes)
        {
            // AT_SYMLINK_NOFOLLOW: judge the link itself; a symlink could point anywhere later.
            rc = statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &buffer);
        }

        if (rc != 0)
        {
            why = string.Create(CultureInfo.InvariantCulture, $"cannot stat (errno {errno})");
            return false;
        }

        return Check(buffer.stx_mode, buffer.stx_uid, isDirectory, out why);
    }

    /// <summary>Judges a mode and owner from <c>fstat</c>/<c>statx</c> of a rule file or the rules directory.</summary>
    public bool Check(uint mode, uint uid, bool isDirectory, [NotNullWhen(false)] out string? why)
    {
        uint type = mode & (uint)S_IFMT;
        if (type == (uint)S_IFLNK)
        {
            why = SymlinkRefused;
            return false;
        }

        if (type != (uint)(isDirectory ? S_IFDIR : S_IFREG))
        {
            why = isDirectory ? "is not a directory" : "is not a regular file";
            return false;
        }

        if (uid != ExpectedOwnerUid)
        {
            why = string.Create(CultureInfo.InvariantCulture,
                $"is owned by uid {uid}, not {(ExpectedOwnerUid == 0 ? "root" : "uid " + ExpectedOwnerUid.ToString(CultureInfo.InvariantCulture))}; hooks run as root, so only root may own rule files (chown root: it)");
            return false;
        }

        if ((mode & (uint)(S_IWGRP | S_IWOTH)) != 0)
        {
            why = string.Create(CultureInfo.InvariantCulture,
                $"is writable by {((mode & (uint)S_IWOTH) != 0 ? "others" : "its group")} (mode {Convert.ToString(mode & 0xfff, 8)}); hooks run as root, so nobody but root may write rule files (chmod go-w it)");
            return false;
        }

        why = null;
        return true;
    }
}
