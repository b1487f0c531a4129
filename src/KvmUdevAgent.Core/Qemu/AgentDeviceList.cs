namespace KvmUdevAgent.Core.Qemu;

/// <summary>The agent's devices in one VM, and its named block nodes (a node without a device is a leftover to clean).</summary>
internal sealed record AgentDeviceList(IReadOnlyList<AgentDevice> Devices, IReadOnlyList<string> BlockNodes);
