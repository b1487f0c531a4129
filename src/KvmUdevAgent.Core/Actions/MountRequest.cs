using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Actions;

/// <summary>What to mount, resolved from a plan: plain values, validated again by <see cref="MountAction"/>.</summary>
internal sealed record MountRequest
{
    /// <summary>Block device node: absolute, under <c>/dev</c>, no <c>..</c>. A symlink (<c>/dev/disk/by-uuid/…</c>) is resolved.</summary>
    public required string DevNode { get; init; }

    /// <summary>The directory name inside the mount base (label, else UUID, else kernel name, as templated by the rule); sanitised again.</summary>
    public required string? Name { get; init; }

    /// <summary>Used when <see cref="Name"/> sanitises to nothing.</summary>
    public required string KernelName { get; init; }

    /// <summary><c>ID_FS_TYPE</c>; null lets mount(8) detect it (and skips the per-filesystem defaults).</summary>
    public string? FsType { get; init; }

    /// <summary>Extra options from the rule, one per element (no commas).</summary>
    public ImmutableArray<string> Options { get; init; } = [];

    public bool ReadOnly { get; init; }

    public MountAllow Allow { get; init; }
}
