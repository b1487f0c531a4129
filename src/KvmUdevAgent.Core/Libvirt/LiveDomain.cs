namespace KvmUdevAgent.Core.Libvirt;

/// <summary>What the agent reads from a domain's live XML.</summary>
/// <param name="Devices">The agent's devices (alias <c>ua-kua-…</c>), by agent id.</param>
/// <param name="Targets">Every disk target name in use (<c>sda</c>, <c>vdb</c>), the admin's included.</param>
/// <param name="HasUsbController">Whether the domain has a USB controller other than <c>model='none'</c>.</param>
internal sealed record LiveDomain(IReadOnlyList<Qemu.AgentDevice> Devices, IReadOnlySet<string> Targets, bool HasUsbController);
