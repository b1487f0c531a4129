namespace KvmUdevAgent.Core.State;

/// <summary>A filesystem the agent mounted.</summary>
public sealed record MountRecord
{
    /// <summary>The block device (required).</summary>
    public required DeviceKey Device { get; init; }

    /// <summary>Absolute device node that was mounted (required), e.g. <c>/dev/sdb1</c>.</summary>
    public required string DevNode { get; init; }

    /// <summary>Major device number of the mounted filesystem as the mount table showed it (<c>st_dev</c>); null in records from before it was kept.</summary>
    public uint? Major { get; init; }

    /// <summary>Minor device number to go with <see cref="Major"/>.</summary>
    public uint? Minor { get; init; }

    /// <summary>Absolute mount point (required); it identifies the record.</summary>
    public required string MountPoint { get; init; }

    /// <summary>When mount(8) succeeded.</summary>
    public required DateTimeOffset Since { get; init; }
}
