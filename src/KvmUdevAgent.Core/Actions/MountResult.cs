using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Actions;

/// <summary>What a mount or unmount did. Errors are returned here, not logged: the orchestrator logs and audits once.</summary>
internal sealed record MountResult
{
    public required MountOutcome Outcome { get; init; }

    /// <summary>Absolute mount point inside the base; null when refused before one was chosen.</summary>
    public string? MountPoint { get; init; }

    /// <summary>The option list passed to mount(8), in order; empty for unmounts.</summary>
    public ImmutableArray<string> Options { get; init; } = [];

    /// <summary>A one-line reason when <see cref="Outcome"/> is <see cref="MountOutcome.Failed"/>, or a remark (directory left in place).</summary>
    public string? Error { get; init; }

    /// <summary>What the mount table shows at <see cref="MountPoint"/> after a mount; null for unmounts and failures.</summary>
    public MountedSource? Source { get; init; }

    public TimeSpan Duration { get; init; }

    public bool Succeeded => Outcome is MountOutcome.Mounted or MountOutcome.AlreadyMounted
        or MountOutcome.Unmounted or MountOutcome.LazilyUnmounted or MountOutcome.NotMounted;

    /// <summary>Nothing was unmounted because another device is mounted there (see <see cref="MountOutcome.LeftAlone"/>).</summary>
    public bool LeftAlone => Outcome == MountOutcome.LeftAlone;
}
