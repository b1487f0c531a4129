namespace KvmUdevAgent.Core.Devices;

/// <summary>Where a device's USB interface list came from.</summary>
public enum UsbInterfaceSource
{
    /// <summary>Not a USB device, or nothing to read.</summary>
    Unknown = 0,

    /// <summary>systemd-udevd's ID_USB_INTERFACES property.</summary>
    UdevProperty,

    /// <summary>The <c>usb_device</c>'s sysfs <c>descriptors</c> attribute (complete at its add).</summary>
    Descriptors,

    /// <summary>The interface child directories (fallback where <c>descriptors</c> is missing; absent at the add of a real device).</summary>
    InterfaceChildren,
}
