using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Tests.Devices;

public sealed class UsbKernelNameTests
{
    [Theory]
    [InlineData("2-1.4", 2, "1.4")]
    [InlineData("1-2", 1, "2")]
    [InlineData("10-3.1.2.4", 10, "3.1.2.4")]
    [InlineData("usb2", 2, null)]
    public void TryParse_UsbDeviceNames_Accepts(string kernel, int bus, string? port)
    {
        Assert.True(UsbKernelName.TryParse(kernel, out int b, out string? p));
        Assert.Equal((bus, port), (b, p));
    }

    [Theory]
    [InlineData("2-1.4:1.0")]
    [InlineData("0-1")]
    [InlineData("2-")]
    [InlineData("2-1..4")]
    [InlineData("2-.1")]
    [InlineData("a-1")]
    [InlineData("usb")]
    [InlineData("usbx")]
    [InlineData("sdb")]
    [InlineData("host6")]
    public void TryParse_Others_Rejects(string kernel)
    {
        Assert.False(UsbKernelName.TryParse(kernel, out _, out _));
    }

    [Theory]
    [InlineData("/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4/2-1.4:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1", "/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4")]
    [InlineData("/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4", "/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4")]
    [InlineData("/devices/pci0000:00/0000:00:1d.0/usb2", "/devices/pci0000:00/0000:00:1d.0/usb2")]
    [InlineData("/devices/virtual/block/loop0", null)]
    [InlineData("/devices/platform/thing/1-2/block/x", null)] // no usb1 root hub above it
    public void FindUsbDevicePath_Lexical(string devPath, string? expected)
    {
        Assert.Equal(expected, UsbKernelName.FindUsbDevicePath(devPath));
    }
}
