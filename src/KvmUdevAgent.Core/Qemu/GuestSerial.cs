using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The serial a guest is shown for a block device over a given monitor: <see cref="Sent"/> (null when
/// none) and, when the drive has one that was left out, <see cref="OmittedReason"/>.
/// </summary>
internal sealed record GuestSerial(string? Sent, string? OmittedReason)
{
    /// <summary>Longest serial a <c>usb-storage</c> guest sees whole: QEMU 7.2's scsi-disk cuts its serial page at 36 (MAX_SERIAL_LEN).</summary>
    public const int UsbStorageMaxLength = 36;

    /// <summary>Longest serial a <c>virtio-blk</c> guest sees whole: VIRTIO_BLK_ID_BYTES.</summary>
    public const int VirtioBlkMaxLength = 20;

    /// <summary>
    /// Over QMP the serial goes as an escaped JSON value, whatever it holds. An HMP line can carry it
    /// only raw, so there it must be letters, digits, '.', '_' and '-' and fit what the guest shows;
    /// otherwise it is left out and the guest sees QEMU's own serial.
    /// </summary>
    public static GuestSerial Choose(string? serial, BlockDeviceModel model, MonitorProtocol protocol)
    {
        if (string.IsNullOrEmpty(serial))
        {
            return new GuestSerial(null, null);
        }

        if (protocol == MonitorProtocol.Qmp)
        {
            return new GuestSerial(serial, null);
        }

        int max = model == BlockDeviceModel.VirtioBlk ? VirtioBlkMaxLength : UsbStorageMaxLength;
        if (serial.Length > max)
        {
            return new GuestSerial(null, $"the drive's serial is longer than the {max} characters the guest is shown, and an HMP monitor cannot send it");
        }

        return IsStrict(serial)
            ? new GuestSerial(serial, null)
            : new GuestSerial(null, "the drive's serial has characters other than letters, digits, '.', '_' and '-', which an HMP line cannot carry");
    }

    /// <summary>Letters, digits, '.', '_' and '-' only, not starting with '-'.</summary>
    public static bool IsStrict(string serial)
    {
        if (serial.Length == 0 || serial[0] == '-')
        {
            return false;
        }

        foreach (char c in serial)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
