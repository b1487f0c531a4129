using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>
/// The daemon's view factory keeps each USB device's sysfs attributes while it is plugged; a
/// remove (of it or of a hub above it) and a coldplug add (start, resync) make it read them again,
/// so a new device at the same port is never seen with the old one's identity.
/// </summary>
public sealed class UsbDeviceCacheTests : IDisposable
{
    private readonly SysfsFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private void Replug(SysfsFixture.Drive drive, string serial) =>
        File.WriteAllText(Path.Join(_fx.Root, drive.UsbDevice.DevPath, "serial"), serial + "\n");

    [Fact]
    public void Create_AfterRemoveOfUsbDevice_ReadsTheNewDevicesAttributes()
    {
        var drive = _fx.AddSeedFlashDrive();
        var factory = new DeviceViewFactory(_fx.Root, cacheUsbDevices: true);
        Assert.Equal("576B63C4", factory.Create(_fx.KernelEvent(drive.Partition!)).Identity.Serial);

        factory.Create(_fx.KernelEvent(drive.UsbDevice, "remove"));
        Replug(drive, "NEW0001");

        Assert.Equal("NEW0001", factory.Create(_fx.KernelEvent(drive.UsbDevice)).Identity.Serial);
        Assert.Equal("NEW0001", factory.Create(_fx.KernelEvent(drive.Partition!)).Identity.Serial);
    }

    [Fact]
    public void Create_AfterRemoveOfTheHubAbove_ReadsTheNewDevicesAttributes()
    {
        var drive = _fx.AddSeedFlashDrive();
        var factory = new DeviceViewFactory(_fx.Root, cacheUsbDevices: true);
        Assert.Equal("576B63C4", factory.Create(_fx.KernelEvent(drive.UsbDevice)).Identity.Serial);

        string usb = drive.UsbDevice.DevPath;
        string hub = usb[..usb.LastIndexOf('/')];
        factory.Create(Uevent.Create(UeventSource.Kernel, [new("ACTION", "remove"), new("DEVPATH", hub), new("SUBSYSTEM", "usb"), new("DEVTYPE", "usb_device")]));
        Replug(drive, "NEW0002");

        Assert.Equal("NEW0002", factory.Create(_fx.KernelEvent(drive.Partition!)).Identity.Serial);
    }

    [Fact]
    public void Create_ColdplugAdd_ReadsTheDevicesAttributesAgain()
    {
        // After lost events (a resync), the device at a port may be another one whose remove was lost.
        var drive = _fx.AddSeedFlashDrive();
        var factory = new DeviceViewFactory(_fx.Root, cacheUsbDevices: true);
        Assert.Equal("576B63C4", factory.Create(_fx.KernelEvent(drive.UsbDevice)).Identity.Serial);
        Replug(drive, "NEW0003");

        Uevent coldplug = Uevent.Create(UeventSource.Sysfs, _fx.KernelEvent(drive.UsbDevice).Properties, coldplug: true);
        Assert.Equal("NEW0003", factory.Create(coldplug).Identity.Serial);
    }

    [Fact]
    public void Create_AddWithAnotherDevnum_ReadsTheNewDevicesAttributes()
    {
        // A new plug at the same port whose old device's remove was not observed first.
        var drive = _fx.AddSeedFlashDrive();
        var factory = new DeviceViewFactory(_fx.Root, cacheUsbDevices: true);
        Assert.Equal("576B63C4", factory.Create(_fx.KernelEvent(drive.UsbDevice)).Identity.Serial);
        Replug(drive, "NEW0004");
        File.WriteAllText(Path.Join(_fx.Root, drive.UsbDevice.DevPath, "devnum"), "9\n");

        var replugged = _fx.KernelEvent(drive.UsbDevice).Properties.Select(p => p.Key == "DEVNUM" ? new KeyValuePair<string, string>("DEVNUM", "009") : p);
        Assert.Equal("NEW0004", factory.Create(Uevent.Create(UeventSource.Kernel, replugged)).Identity.Serial);
    }

    [Fact]
    public void Create_WithAndWithoutCache_SameIdentityForEveryEventOfAPlug()
    {
        var drive = _fx.AddSeedFlashDrive();
        var cached = new DeviceViewFactory(_fx.Root, cacheUsbDevices: true);
        var plain = new DeviceViewFactory(_fx.Root);
        foreach (bool udev in (bool[])[false, true])
        {
            foreach (Uevent e in _fx.PlugEvents(drive, udev))
            {
                Assert.Equal(plain.Create(e).Identity, cached.Create(e).Identity);
            }
        }
    }
}
