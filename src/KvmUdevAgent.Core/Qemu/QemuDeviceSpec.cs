namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Arguments of one <c>device_add</c>: the driver (<c>usb-host</c>, <c>usb-storage</c>,
/// <c>virtio-blk-pci</c>), the agent-made id, and the other properties in the order they are sent.
/// </summary>
internal sealed record QemuDeviceSpec(string Driver, string Id, IReadOnlyList<KeyValuePair<string, QemuValue>> Properties);
