namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>A USB device as the guest's kernel sees it (/sys/bus/usb/devices/NAME): ids in hex, serial empty when it has none.</summary>
internal sealed record GuestUsbDevice(string Name, string Vendor, string Product, string Serial);
