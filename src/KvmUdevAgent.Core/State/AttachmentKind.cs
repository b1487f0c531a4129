using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.State;

/// <summary>How a device was given to a VM; the JSON names are QEMU's device driver names.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AttachmentKind>))]
public enum AttachmentKind
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,

    /// <summary>USB pass-through (<c>usb-host</c>).</summary>
    [JsonStringEnumMemberName("usb-host")]
    UsbHost,

    /// <summary>Host block device as an emulated USB stick (<c>blockdev-add</c> + <c>usb-storage</c>).</summary>
    [JsonStringEnumMemberName("usb-storage")]
    UsbStorage,

    /// <summary>Host block device as a PCI disk (<c>blockdev-add</c> + <c>virtio-blk-pci</c>).</summary>
    [JsonStringEnumMemberName("virtio-blk")]
    VirtioBlk,
}
