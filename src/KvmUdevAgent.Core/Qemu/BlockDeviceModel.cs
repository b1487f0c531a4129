namespace KvmUdevAgent.Core.Qemu;

/// <summary>How a host block device appears in the guest (a rule's <c>as:</c>).</summary>
internal enum BlockDeviceModel
{
    Unknown = 0,
    /// <summary><c>usb-storage</c> on the VM's USB controller; unplugs without guest cooperation.</summary>
    UsbStorage,
    /// <summary><c>virtio-blk-pci</c>; unplug needs the guest to acknowledge (ACPI hotplug).</summary>
    VirtioBlk,
}
