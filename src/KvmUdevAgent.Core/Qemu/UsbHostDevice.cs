using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A host USB device to pass through with <c>usb-host</c>: bus and physical port path pick the
/// exact device (QEMU's usb-host has no serial property), vendor and product make sure it is still
/// the device that was plugged. Create with <c>TryCreate</c>, which validates every part,
/// so all of them are safe in an HMP line.
/// </summary>
internal sealed record UsbHostDevice : AttachRequest
{
    private UsbHostDevice(int bus, string portPath, UsbId vendor, UsbId product)
    {
        Bus = bus;
        PortPath = portPath;
        Vendor = vendor;
        Product = product;
        Id = QemuDeviceId.ForUsbHost(bus, portPath, vendor, product);
    }

    /// <summary>USB bus number (sysfs <c>busnum</c>), 1-999.</summary>
    public int Bus { get; }

    /// <summary>Port path below the root hub (<c>1.4</c> for kernel name <c>2-1.4</c>).</summary>
    public string PortPath { get; }

    public UsbId Vendor { get; }

    public UsbId Product { get; }

    public override string Id { get; }

    /// <summary>The device number on its bus (sysfs <c>devnum</c>), for <c>/dev/bus/usb/BBB/DDD</c> when the agent opens the node for QEMU, and for libvirt's hostdev <c>address device</c>; null when unknown.</summary>
    public int? DevNum { get; init; }

    public static bool TryCreate(int bus, string? portPath, UsbId vendor, UsbId product, [NotNullWhen(true)] out UsbHostDevice? device, [NotNullWhen(false)] out string? reason)
    {
        device = null;
        if (bus is < 1 or > 999)
        {
            reason = "the USB bus number must be from 1 to 999";
            return false;
        }

        if (!IsPortPath(portPath))
        {
            reason = "the USB port path must be 1 to 7 dot-separated numbers (e.g. 1.4)";
            return false;
        }

        device = new UsbHostDevice(bus, portPath, vendor, product);
        reason = null;
        return true;
    }

    /// <summary>Builds the request from a device identity, as the daemon resolves it from the event and sysfs.</summary>
    public static bool TryCreate(DeviceIdentity identity, [NotNullWhen(true)] out UsbHostDevice? device, [NotNullWhen(false)] out string? reason)
    {
        device = null;
        if (identity.BusNum is not int bus || identity.Vendor is not UsbId vendor || identity.Product is not UsbId product)
        {
            reason = "the device has no USB bus number, vendor or product";
            return false;
        }

        if (!TryCreate(bus, identity.PortPath, vendor, product, out device, out reason))
        {
            return false;
        }

        device = device with { DevNum = identity.DevNum is int devnum and >= 1 and <= 999 ? devnum : null };
        return true;
    }

    private static bool IsPortPath([NotNullWhen(true)] string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 31)
        {
            return false;
        }

        string[] parts = text.Split('.');
        if (parts.Length > 7)
        {
            return false;
        }

        foreach (string part in parts)
        {
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || int.Parse(part, CultureInfo.InvariantCulture) == 0)
            {
                return false;
            }
        }

        return true;
    }
}
