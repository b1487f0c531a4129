using System.Diagnostics.CodeAnalysis;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;

namespace KvmUdevAgent.Core.Agent;

/// <summary>Turns a planned attach and the device's identity into what QEMU is asked for.</summary>
internal static class AttachRequests
{
    public static bool TryCreate(PlannedAttach attach, DeviceView device, [NotNullWhen(true)] out AttachRequest? request, [NotNullWhen(false)] out string? reason)
    {
        AttachKind kind = attach.Kind;
        switch (kind)
        {
            case AttachKind.UsbHost:
                if (UsbHostDevice.TryCreate(device.Identity, out UsbHostDevice? usb, out reason))
                {
                    request = usb;
                    return true;
                }

                request = null;
                reason = "cannot pass the USB device through: " + reason;
                return false;
            case AttachKind.UsbStorage or AttachKind.VirtioBlk:
                BlockDeviceModel model = kind == AttachKind.UsbStorage ? BlockDeviceModel.UsbStorage : BlockDeviceModel.VirtioBlk;
                if (BlockAttachRequest.TryCreate(device.Identity, model, attach.ReadOnly, attach.Removable == true, pciBus: null, out BlockAttachRequest? block, out reason))
                {
                    request = block;
                    return true;
                }

                request = null;
                reason = "cannot attach the block device: " + reason;
                return false;
            default:
                request = null;
                reason = $"unknown attach kind '{kind}'";
                return false;
        }
    }

    /// <summary>What the state keeps of an attachment: the device's key, the VM, QEMU's id and the kind.</summary>
    public static AttachmentRecord Record(DeviceView device, string vm, string qemuId, AttachKind kind, DateTimeOffset since) => new()
    {
        Device = DeviceKey.From(device.DevPath, device.Identity),
        Vm = vm,
        QemuId = qemuId,
        Kind = kind switch
        {
            AttachKind.UsbHost => AttachmentKind.UsbHost,
            AttachKind.UsbStorage => AttachmentKind.UsbStorage,
            AttachKind.VirtioBlk => AttachmentKind.VirtioBlk,
            _ => AttachmentKind.Unknown,
        },
        Since = since,
    };
}
