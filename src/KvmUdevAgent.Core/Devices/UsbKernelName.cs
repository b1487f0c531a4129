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
        bool parsed = TryParse(kernel, out bus, out int ports);
        portPath = parsed && ports >= 0 ? kernel[ports..].ToString() : null;
        return parsed;
    }

    // The same, with where the port path starts (-1 for a root hub) instead of a string of it.
    private static bool TryParse(ReadOnlySpan<char> kernel, out int bus, out int portsStart)
    {
        bus = 0;
        portsStart = -1;
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

        portsStart = dash + 1;
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
            if (TryParse(devPath.AsSpan(slash + 1, end - slash - 1), out int bus, out int _) && UnderRootHub(devPath.AsSpan(0, end), bus))
            {
                return devPath[..end];
            }

            end = slash;
        }

        return null;
    }

    // Whether "/usbB/" is in path + "/", without making either string (issue 15: once per event).
    private static bool UnderRootHub(ReadOnlySpan<char> path, int bus)
    {
        Span<char> hub = stackalloc char[16];
        "/usb".CopyTo(hub);
        if (!bus.TryFormat(hub[4..], out int digits, provider: CultureInfo.InvariantCulture))
        {
            return false;
        }

        hub[4 + digits] = '/';
        return path.Contains(hub[..(5 + digits)], StringComparison.Ordinal) || path.EndsWith(hub[..(4 + digits)], StringComparison.Ordinal);
    }

    private static bool IsDigits(ReadOnlySpan<char> s) => !s.IsEmpty && !s.ContainsAnyExceptInRange('0', '9');
}
