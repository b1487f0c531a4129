namespace KvmUdevAgent.Core.Configuration;

/// <summary>Where Proxmox VE (proxmox/qemu-server) keeps its VMs' sockets and configs.</summary>
public static class ProxmoxDefaults
{
    /// <summary>The directory of the <c>VMID.qmp</c> sockets that <c>qm</c> and <c>pvestatd</c> use.</summary>
    public const string RunDir = "/var/run/qemu-server";

    /// <summary>The directory of the <c>VMID.conf</c> files.</summary>
    public const string ConfigDir = "/etc/pve/qemu-server";

    /// <summary>Smallest VMID Proxmox VE hands out.</summary>
    public const int MinVmid = 100;

    /// <summary>Largest VMID Proxmox VE accepts.</summary>
    public const int MaxVmid = 999_999_999;
}
