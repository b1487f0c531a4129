namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// One VM as <c>kvm-udev-agent vms</c> shows it: where its monitor is, whether it answered, and
/// the agent's devices in it as QEMU reports them. The same object is printed as text and as JSON.
/// </summary>
public sealed record VmStatus
{
    /// <summary>The VM's name from the config (or <c>--monitor NAME=...</c>).</summary>
    public required string Name { get; init; }
    /// <summary>The monitor address as configured.</summary>
    public required string Monitor { get; init; }
    /// <summary><c>auto</c>, <c>qmp</c> or <c>hmp</c>, as configured.</summary>
    public required string ConfiguredProtocol { get; init; }
    /// <summary>What the monitor speaks (<c>qmp</c>/<c>hmp</c>); null when unreachable.</summary>
    public string? Protocol { get; init; }
    /// <summary>True when the monitor greeted and answered the listing.</summary>
    public bool Reachable { get; init; }
    /// <summary>QEMU's version, e.g. <c>7.2.22 (Debian 1:7.2+dfsg-7)</c>; null when unreachable.</summary>
    public string? QemuVersion { get; init; }
    /// <summary>Why the monitor could not be used; null when it was.</summary>
    public string? Error { get; init; }
    /// <summary>The <c>kua-</c> devices QEMU reports, in QOM order.</summary>
    public IReadOnlyList<AgentDevice> Devices { get; init; } = [];
    /// <summary>For a libvirt domain: the domain name; null for a VM reached through its monitor.</summary>
    public string? Domain { get; init; }
    /// <summary>For a libvirt domain: the libvirt URI.</summary>
    public string? Uri { get; init; }
    /// <summary>For a libvirt domain: its state (<c>running</c>, <c>paused</c>, <c>shutoff</c>, …); null when unknown.</summary>
    public string? State { get; init; }
    /// <summary>The Proxmox VE VMID (<c>proxmox:</c>); null for other VMs.</summary>
    public int? ProxmoxVmid { get; init; }
    /// <summary>The name Proxmox VE shows (<c>name:</c> of <c>VMID.conf</c>); null when not a Proxmox VM or unnamed.</summary>
    public string? ProxmoxName { get; init; }
    /// <summary>The agent's block nodes (each normally belongs to one of <see cref="Devices"/>).</summary>
    public IReadOnlyList<string> BlockNodes { get; init; } = [];
}
