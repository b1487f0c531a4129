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
    /// Over QMP the serial goes as an escaped JSON value, whatever it holds, except a Unicode
    /// noncharacter: QEMU's JSON parser refuses the whole command ("\\uFFFE is not a valid Unicode
    /// character") and answers without the command's id, so the attach would wait out its timeout. An
    /// HMP line can carry it only raw, so there it must be letters, digits, '.', '_' and '-' and fit what
    /// the guest shows. Otherwise it is left out and the guest sees QEMU's own serial.
    /// </summary>
    public static GuestSerial Choose(string? serial, BlockDeviceModel model, MonitorProtocol protocol)
    {
        if (string.IsNullOrEmpty(serial))
        {
            return new GuestSerial(null, null);
        }

        if (protocol == MonitorProtocol.Qmp)
        {
            return HasNoncharacter(serial)
                ? new GuestSerial(null, "the drive's serial has a Unicode noncharacter (U+FDD0-U+FDEF, or U+xFFFE/U+xFFFF), which QEMU's JSON parser refuses")
                : new GuestSerial(serial, null);
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

    /// <summary>Whether <paramref name="text"/> holds a code point Unicode reserves as a noncharacter (QEMU's <c>is_valid_codepoint</c> refuses them).</summary>
    public static bool HasNoncharacter(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is >= '\uFDD0' and <= '\uFDEF' or '\uFFFE' or '\uFFFF')
            {
                return true;
            }

            // U+xFFFE and U+xFFFF of the other planes: a high surrogate ending in 0x3F, then U+DFFE or U+DFFF.
            if ((c & 0xFC3F) == 0xD83F && i + 1 < text.Length && text[i + 1] is '\uDFFE' or '\uDFFF')
            {
                return true;
            }
        }

        return false;
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
