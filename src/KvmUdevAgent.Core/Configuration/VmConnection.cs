namespace KvmUdevAgent.Core.Configuration;

/// <summary>The per-VM <c>connection:</c> setting: how long the agent holds the VM's monitor.</summary>
public enum VmConnection
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,
    /// <summary>Kept connected (a monitor dedicated to the agent). The default.</summary>
    Persistent,
    /// <summary>
    /// Connected for each action or probe and closed at once, so a person or a manager (Proxmox's
    /// <c>qm</c>) can use the same monitor; QEMU serves one client per monitor socket.
    /// </summary>
    OnDemand,
}
