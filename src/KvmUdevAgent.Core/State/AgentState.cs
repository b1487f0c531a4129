using System.Collections.Immutable;

namespace KvmUdevAgent.Core.State;

/// <summary>
/// Everything the agent has done that outlives an event: attachments and mounts. Immutable; the
/// <see cref="StateStore"/> swaps whole snapshots. Order of the lists is insertion order.
/// </summary>
public sealed record AgentState
{
    /// <summary>The file format version this build reads and writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>An empty state of the current version.</summary>
    public static AgentState Empty { get; } = new();

    /// <summary>File format version; always <see cref="CurrentVersion"/> for a state this build loaded or made.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Devices attached to VMs.</summary>
    public ImmutableArray<AttachmentRecord> Attachments { get; init; } = [];

    /// <summary>Filesystems mounted under the mount base.</summary>
    public ImmutableArray<MountRecord> Mounts { get; init; } = [];
}
