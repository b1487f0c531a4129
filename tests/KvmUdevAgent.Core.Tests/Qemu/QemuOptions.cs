namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>Which monitors and devices a test QEMU gets.</summary>
public sealed record QemuOptions
{
    public string Machine { get; init; } = "q35";
    public bool Qmp { get; init; } = true;
    public bool HmpUnix { get; init; }
    public bool HmpTcp { get; init; }
    public bool HmpTelnet { get; init; }
    /// <summary>Named <c>pcie-root-port</c>s <c>rp1..rpN</c>, for virtio-blk hotplug on q35.</summary>
    public int PcieRootPorts { get; init; }
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
    /// <summary>Start paused (<c>-S</c>, the default); false lets the guest run, as a VM that migrates must.</summary>
    public bool StartPaused { get; init; } = true;
    /// <summary>Start as a migration destination waiting on this unix socket (<c>-incoming unix:PATH</c>).</summary>
    public string? IncomingUnixSocket { get; init; }
}
