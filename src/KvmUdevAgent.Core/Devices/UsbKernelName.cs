using System.Globalization;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// The kernel's names for USB devices: <c>B-P.P.P</c> (bus B, then the port on each hub from the
/// root hub down) and <c>usbB</c> for a root hub. Interfaces add <c>:C.I</c> and are not devices here.
/// </summary>
internal static class UsbKernelName
{
    /// <summary>
    /// Parses <c>2-1.4</c> to bus 2 and port path <c>1.4</c> (QEMU's <c>hostport</c>), and <c>usb2</c>
    /// to bus 2 with no port path. Anything else (interfaces, other buses) is refused.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> kernel, out int bus, out string? portPath)
    {
        bus = 0;
        portPath = null;
        if (kernel.StartsWith("usb", StringComparison.Ordinal))
        {
            return IsDigits(kernel[3..]) && int.TryParse(kernel[3..], NumberStyles.None, CultureInfo.InvariantCulture, out bus) && bus > 0;
        }

        int dash = kernel.IndexOf('-');
        if (dash <= 0 || !IsDigits(kernel[..dash]) || !int.TryParse(kernel[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out bus) || bus <= 0)
        {
            bus = 0;
            return false;
        }

        ReadOnlySpan<char> ports = kernel[(dash + 1)..];
        if (ports.IsEmpty || ports[0] == '.' || ports[^1] == '.' || ports.Contains("..", StringComparison.Ordinal))
        {
            bus = 0;
            return false;
        }

        foreach (char c in ports)
        {
            if (c != '.' && !char.IsAsciiDigit(c))
            {
                bus = 0;
                return false;
            }
        }

        portPath = ports.ToString();
        return true;
    }

    /// <summary>
    /// The DEVPATH of the USB device a DEVPATH is or sits under, found lexically (the last segment
    /// that is a USB device name), so it works for a <c>remove</c> whose sysfs directory is gone.
    /// </summary>
    public static string? FindUsbDevicePath(string devPath)
    {
        int end = devPath.Length;
        while (end > 0)
        {
            int slash = devPath.LastIndexOf('/', end - 1);
            if (slash < 0)
            {
                return null;
            }

            // Only under that bus's root hub ("/usb2/"), so a non-USB device that happens to be
            // called "1-2" is not taken for one.
            if (TryParse(devPath.AsSpan(slash + 1, end - slash - 1), out int bus, out _) &&
                (devPath[..end] + "/").Contains(string.Create(CultureInfo.InvariantCulture, $"/usb{bus}/"), StringComparison.Ordinal))
            {
                return devPath[..end];
            }

            end = slash;
        }

        return null;
    }

    private static bool IsDigits(ReadOnlySpan<char> s) => !s.IsEmpty && !s.ContainsAnyExceptInRange('0', '9');
}
