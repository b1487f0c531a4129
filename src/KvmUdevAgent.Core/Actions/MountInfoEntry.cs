namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// One line of <c>/proc/self/mountinfo</c> (proc(5)), with the kernel's octal escapes
/// (<c>\040</c> for a space, <c>\012</c> for a newline, <c>\134</c> for a backslash) decoded.
/// </summary>
internal sealed record MountInfoEntry
{
    public required int MountId { get; init; }
    public required int ParentId { get; init; }

    /// <summary>st_dev of files on this mount: the block device for disk filesystems, an anonymous 0:N for FUSE, btrfs and pseudo filesystems.</summary>
    public required uint Major { get; init; }
    public required uint Minor { get; init; }

    /// <summary>Root of the mount within its filesystem (<c>/</c> unless a bind mount of a subdirectory).</summary>
    public required string Root { get; init; }
    public required string MountPoint { get; init; }

    /// <summary>Per-mount options (<c>rw,nosuid,nodev,noexec,relatime</c>): the VFS flags, not the filesystem's own.</summary>
    public required string MountOptions { get; init; }
    public required string FsType { get; init; }

    /// <summary>The mount source as given to mount(2), usually the device node; <c>none</c> or a name for pseudo filesystems.</summary>
    public required string Source { get; init; }

    /// <summary>Per-superblock options (<c>ro,errors=remount-ro</c>).</summary>
    public required string SuperOptions { get; init; }

    /// <summary>True if <paramref name="option"/> is one of the per-mount options (exact, comma-separated).</summary>
    public bool HasMountOption(string option) => ContainsOption(MountOptions, option);

    /// <summary>True if <paramref name="option"/> is one of the superblock options (exact, comma-separated).</summary>
    public bool HasSuperOption(string option) => ContainsOption(SuperOptions, option);

    private static bool ContainsOption(string options, string option)
    {
        foreach (var range in options.AsSpan().Split(','))
        {
            if (options.AsSpan()[range].SequenceEqual(option))
            {
                return true;
            }
        }
        return false;
    }
}
