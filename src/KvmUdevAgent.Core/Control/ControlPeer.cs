using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Control;

/// <summary>Who is on the other end of a control connection, as the kernel says (SO_PEERCRED) at connect time.</summary>
public sealed record ControlPeer
{
    /// <summary>The peer's process id when it connected.</summary>
    public required int Pid { get; init; }

    /// <summary>The peer's effective uid when it connected.</summary>
    public required uint Uid { get; init; }

    /// <summary>The peer's effective (primary) gid when it connected.</summary>
    public required uint Gid { get; init; }

    /// <summary>The peer's supplementary groups (SO_PEERGROUPS at connect time, or <c>/proc/PID/status</c> on old kernels).</summary>
    public ImmutableArray<uint> Groups { get; init; } = [];

    /// <summary>True when the peer is root (uid 0).</summary>
    public bool IsRoot => Uid == 0;

    /// <summary>True when <paramref name="gid"/> is the peer's primary group or one of its supplementary groups.</summary>
    public bool IsInGroup(uint gid) => Gid == gid || Groups.Contains(gid);
}
