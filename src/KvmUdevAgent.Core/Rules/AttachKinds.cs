namespace KvmUdevAgent.Core.Rules;

/// <summary>The YAML words for <see cref="AttachKind"/>.</summary>
internal static class AttachKinds
{
    public static readonly string[] Words = ["usb-host", "usb-storage", "virtio-blk"];

    public static AttachKind Parse(string word) => word switch
    {
        "usb-host" => AttachKind.UsbHost,
        "usb-storage" => AttachKind.UsbStorage,
        "virtio-blk" => AttachKind.VirtioBlk,
        _ => AttachKind.Unknown,
    };

    public static string ToWord(this AttachKind kind) => kind switch
    {
        AttachKind.UsbHost => "usb-host",
        AttachKind.UsbStorage => "usb-storage",
        AttachKind.VirtioBlk => "virtio-blk",
        _ => "unknown",
    };
}
