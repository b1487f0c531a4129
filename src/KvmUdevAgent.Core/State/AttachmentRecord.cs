namespace KvmUdevAgent.Core.State;

/// <summary>A device the agent attached to a VM.</summary>
public sealed record AttachmentRecord
{
    /// <summary>The device (required).</summary>
    public required DeviceKey Device { get; init; }

    /// <summary>The VM's name from the config (required).</summary>
    public required string Vm { get; init; }

    /// <summary>The QEMU device id the agent chose (required, <c>kua-…</c>); with <see cref="Vm"/> it identifies the record.</summary>
    public required string QemuId { get; init; }

    /// <summary>How the device was attached (required).</summary>
    public required AttachmentKind Kind { get; init; }

    /// <summary>When QEMU accepted the device.</summary>
    public required DateTimeOffset Since { get; init; }
}
