using System.Collections.Frozen;

namespace KvmUdevAgent.Core.Actions;

/// <summary>Fixed choices of the mount executor, in one place so docs and tests can cite them.</summary>
internal static class MountDefaults
{
    /// <summary>
    /// Added to every mount unless the rule lifts one with <c>allow:</c>. A flash drive is
    /// someone else's data: no setuid binaries, no device nodes, nothing executed from it.
    /// </summary>
    public static readonly string[] Forced = ["nosuid", "nodev", "noexec"];

    /// <summary>
    /// Per-filesystem defaults, after udisks2's built-in table (its <c>mount_options.conf</c>
    /// defaults) minus <c>uid=/gid=</c>, which udisks sets to the desktop user and which mean
    /// root here anyway. vfat <c>flush</c> writes back early because sticks get pulled;
    /// <c>showexec</c> is moot under noexec but keeps modes sane if exec is allowed. ext*
    /// <c>errors=remount-ro</c> stops writing to a damaged stick instead of corrupting it
    /// further. A rule option with the same key (<c>utf8=0</c>, <c>errors=continue</c>) replaces
    /// the default.
    /// </summary>
    public static readonly FrozenDictionary<string, string[]> PerFilesystem = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["vfat"] = ["shortname=mixed", "utf8=1", "showexec", "flush"],
        ["exfat"] = ["iocharset=utf8", "errors=remount-ro"],
        ["ntfs"] = ["windows_names"],
        ["ntfs3"] = ["iocharset=utf8"],
        ["iso9660"] = ["iocharset=utf8"],
        ["udf"] = ["iocharset=utf8"],
        ["ext2"] = ["errors=remount-ro"],
        ["ext3"] = ["errors=remount-ro"],
        ["ext4"] = ["errors=remount-ro"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Mode of the mount base when the agent has to create it: root only. Mounted drives are
    /// not world-readable by default; an administrator who wants a group or a service to read
    /// them changes the base's mode or ACL, and the agent leaves an existing base as it is.
    /// </summary>
    public const UnixFileMode BaseMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Mode of each mount point directory before the mount covers it.</summary>
    public const UnixFileMode MountPointMode = BaseMode;

    /// <summary>How many suffixes (<c>NAME-2</c> … <c>NAME-N</c>) to try before giving up.</summary>
    public const int MaxSuffix = 100;

    /// <summary>A mount of a bad medium can block in the kernel; give up waiting for mount(8) after this.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Candidates for mount(8) and umount(8); the first that exists is used. No PATH lookup.</summary>
    public static readonly string[] MountPaths = ["/usr/bin/mount", "/bin/mount"];
    public static readonly string[] UmountPaths = ["/usr/bin/umount", "/bin/umount"];
}
