namespace KvmUdevAgent.Core.Rules;

/// <summary>How a device is handed to a VM (<c>as:</c>).</summary>
internal enum AttachKind
{
    Unknown = 0,
    /// <summary>QEMU <c>usb-host</c>: the whole USB device, by bus and port.</summary>
    UsbHost,
    /// <summary>The host block device as an emulated USB stick.</summary>
    UsbStorage,
    /// <summary>The host block device as a virtio disk.</summary>
    VirtioBlk,
}
