using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// Reads a USB device's interface classes from its sysfs <c>descriptors</c> attribute: the 18-byte
/// device descriptor, then each configuration's raw descriptors (configuration, interfaces with
/// their alternate settings, endpoints, class-specific ones), as the kernel read them from the
/// device before announcing it. Unlike the interface children, which the generic driver creates
/// only after the device's <c>add</c> uevent, the attribute is complete at <c>add</c>: it is what
/// systemd-udevd's <c>usb_id</c> builtin reads for ID_USB_INTERFACES.
/// </summary>
/// <remarks>
/// The list is udev's: one <c>cc:ss:pp</c> per distinct class triple of every interface descriptor
/// of every configuration and alternate setting, in the order they appear. It is stricter than
/// udev where the bytes are damaged, because a BadUSB check must not accept a list it could not
/// read to the end: a walk that stops early (a <c>bLength</c> below 3 or past the end, a
/// configuration shorter than its <c>wTotalLength</c>, fewer configurations than the device
/// descriptor counts, a file larger than the kernel ever gives) keeps what it read before and
/// says why in <see cref="UsbInterfaceList.Problem"/>, and such a list never matches. Two
/// deliberate differences from udev on well-formed data: udev skips an interface descriptor that
/// ends exactly at the end of the file (its loop wants more than 9 bytes left), and caps its string
/// at 72 entries; both would hide an interface, so neither is copied.
/// </remarks>
internal static class UsbDescriptors
{
    /// <summary>The attribute's name in a <c>usb_device</c> directory.</summary>
    public const string AttributeName = "descriptors";

    /// <summary>
    /// The most the kernel ever returns: the attribute's declared size, a device descriptor plus one
    /// maximal configuration (also the buffer udev reads it into). A longer file is not the kernel's.
    /// </summary>
    public const int MaxBytes = 18 + 65535;

    private const byte DeviceType = 0x01;
    private const byte ConfigurationType = 0x02;
    private const byte InterfaceType = 0x04;
    private const int DeviceDescriptorLength = 18;
    private const int ConfigurationDescriptorLength = 9;
    private const int InterfaceDescriptorLength = 9;

    /// <summary>Reads and walks <paramref name="path"/>; null when the file does not exist.</summary>
    public static UsbInterfaceList? Read(string path)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxBytes + 1);
        try
        {
            int total = 0;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
            {
                // sysfs hands out at most a page per read(): loop, and read one byte past the bound
                // to tell a file that is exactly the maximum from one that is larger.
                int read;
                while (total <= MaxBytes && (read = stream.Read(buffer, total, MaxBytes + 1 - total)) > 0)
                {
                    total += read;
                }
            }

            return total > MaxBytes
                ? Parse(buffer.AsSpan(0, MaxBytes)) with { Problem = string.Create(CultureInfo.InvariantCulture, $"descriptors is larger than {MaxBytes} bytes, more than the kernel ever gives; read only that much") }
                : Parse(buffer.AsSpan(0, total));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new UsbInterfaceList([], "descriptors could not be read: " + e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Walks the packed descriptors in <paramref name="blob"/>; never throws.</summary>
    public static UsbInterfaceList Parse(ReadOnlySpan<byte> blob)
    {
        var interfaces = ImmutableArray.CreateBuilder<string>();
        string? problem = Walk(blob, interfaces);
        return new UsbInterfaceList(interfaces.ToImmutable(), problem);
    }

    /// <summary>udev's ID_USB_INTERFACES form of <paramref name="interfaces"/>: <c>:080650:030101:</c>, or empty for none.</summary>
    public static string ToUdevString(ImmutableArray<string> interfaces) =>
        interfaces.IsDefaultOrEmpty ? string.Empty : ":" + string.Join(':', interfaces.Select(i => i.Replace(":", string.Empty, StringComparison.Ordinal))) + ":";

    private static string? Walk(ReadOnlySpan<byte> blob, ImmutableArray<string>.Builder interfaces)
    {
        if (blob.Length < DeviceDescriptorLength)
        {
            return Format($"descriptors is {blob.Length} bytes, shorter than a device descriptor ({DeviceDescriptorLength})");
        }

        if (blob[0] != DeviceDescriptorLength || blob[1] != DeviceType)
        {
            return Format($"descriptors does not start with a device descriptor (bLength {blob[0]}, type 0x{blob[1]:x2})");
        }

        int configurations = blob[17];
        if (configurations == 0)
        {
            return "the device descriptor counts no configuration";
        }

        int seen = 0;
        int configEnd = -1; // end of the configuration being walked; -1 between configurations
        int pos = DeviceDescriptorLength;
        string? truncated = null; // a configuration cut short: its descriptors that are there still count
        while (pos < blob.Length)
        {
            int left = blob.Length - pos;
            if (left < 2)
            {
                return truncated ?? Format($"1 stray byte at offset {pos}");
            }

            int length = blob[pos];
            byte type = blob[pos + 1];
            if (length < 3)
            {
                // udev stops below 3 too; the kernel skips the rest of a configuration below 2.
                return truncated ?? Format($"descriptor at offset {pos} has bLength {length}");
            }

            if (length > left)
            {
                return truncated ?? Format($"descriptor at offset {pos} claims {length} bytes, only {left} left (truncated)");
            }

            if (configEnd < 0)
            {
                if (type != ConfigurationType || length < ConfigurationDescriptorLength)
                {
                    return Format($"expected a configuration descriptor at offset {pos}, found type 0x{type:x2} of {length} bytes");
                }

                int totalLength = blob[pos + 2] | (blob[pos + 3] << 8);
                seen++;
                if (seen > configurations)
                {
                    return Format($"more configurations than the {configurations} the device descriptor counts");
                }

                if (totalLength < length)
                {
                    return Format($"configuration {seen} at offset {pos} has wTotalLength {totalLength}, less than its own {length} bytes");
                }

                if (totalLength > left)
                {
                    // Also what a device that sent less than it announced looks like: the kernel keeps the
                    // bytes it got, and the header still says what the device claimed. Walk what is there.
                    truncated = Format($"configuration {seen} at offset {pos} has wTotalLength {totalLength}, only {left} bytes left (truncated)");
                    totalLength = left;
                }

                configEnd = pos + totalLength;
            }
            else if (pos + length > configEnd)
            {
                return Format($"descriptor at offset {pos} runs past the end of configuration {seen}");
            }
            else if (type == InterfaceType)
            {
                if (length < InterfaceDescriptorLength)
                {
                    return truncated ?? Format($"interface descriptor at offset {pos} is only {length} bytes");
                }

                string entry = Entry(blob[pos + 5], blob[pos + 6], blob[pos + 7]);
                if (!interfaces.Contains(entry))
                {
                    interfaces.Add(entry);
                }
            }

            pos += length;
            if (pos == configEnd)
            {
                configEnd = -1;
            }
        }

        return truncated ?? (seen < configurations
            ? Format($"{seen} of the {configurations} configurations the device descriptor counts (truncated)")
            : null);
    }

    private static string Entry(byte cls, byte subClass, byte protocol) =>
        string.Create(CultureInfo.InvariantCulture, $"{cls:x2}:{subClass:x2}:{protocol:x2}");

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
