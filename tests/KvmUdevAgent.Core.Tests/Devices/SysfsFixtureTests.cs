namespace KvmUdevAgent.Core.Tests.Devices;

public sealed class SysfsFixtureTests
{
    [Fact]
    public void AddSeedFlashDrive_LaysOutKernelTree()
    {
        using var fx = new SysfsFixture();
        var drive = fx.AddSeedFlashDrive();

        Assert.Equal("/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4", drive.UsbDevice.DevPath);
        Assert.Equal("/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4/2-1.4:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1", drive.Partition!.DevPath);
        Assert.Equal("058f\n", File.ReadAllText(Path.Join(drive.UsbDevice.Directory, "idVendor")));
        Assert.Equal("1.4\n", File.ReadAllText(Path.Join(drive.UsbDevice.Directory, "devpath")));
        Assert.Equal(Path.GetFullPath(drive.UsbDevice.Directory), new DirectoryInfo(Path.Join(fx.Root, "bus/usb/devices/2-1.4")).ResolveLinkTarget(true)!.FullName);
        Assert.Equal(Path.GetFullPath(drive.Disk!.Directory), new DirectoryInfo(Path.Join(fx.Root, "class/block/sdb")).ResolveLinkTarget(true)!.FullName);
        Assert.Equal("block", Path.GetFileName(new DirectoryInfo(Path.Join(drive.Partition.Directory, "subsystem")).ResolveLinkTarget(true)!.FullName));
        Assert.Equal("usb-storage", Path.GetFileName(new DirectoryInfo(Path.Join(drive.Interfaces[0].Directory, "driver")).ResolveLinkTarget(true)!.FullName));
        Assert.Contains("DEVTYPE=partition\n", File.ReadAllText(Path.Join(drive.Partition.Directory, "uevent")), StringComparison.Ordinal);
    }

    [Fact]
    public void UdevProperties_Partition_CarriesUsbIdAndBlkid()
    {
        using var fx = new SysfsFixture();
        var drive = fx.AddSeedFlashDrive();
        var props = fx.UdevProperties(drive.Partition!).ToDictionary(kv => kv.Key, kv => kv.Value);

        Assert.Equal("/dev/sdb1", props["DEVNAME"]);
        Assert.Equal("058f", props["ID_VENDOR_ID"]);
        Assert.Equal("6387", props["ID_MODEL_ID"]);
        Assert.Equal("576B63C4", props["ID_SERIAL_SHORT"]);
        Assert.Equal("Generic_Flash_Disk_576B63C4-0:0", props["ID_SERIAL"]);
        Assert.Equal(":080650:", props["ID_USB_INTERFACES"]);
        Assert.Equal("FLASH", props["ID_FS_LABEL"]);
        Assert.Equal("vfat", props["ID_FS_TYPE"]);
        Assert.Equal("8", props["MAJOR"]);
        Assert.Equal("17", props["MINOR"]);
    }

    [Fact]
    public void UdevProperties_CompositeDevice_ListsBothInterfaceClasses()
    {
        using var fx = new SysfsFixture();
        var drive = fx.AddCompositeFlashKeyboard();
        var props = fx.UdevProperties(drive.UsbDevice).ToDictionary(kv => kv.Key, kv => kv.Value);

        Assert.Equal(":080650:030101:", props["ID_USB_INTERFACES"]);
        Assert.Equal("/dev/bus/usb/002/007", props["DEVNAME"]);
        Assert.Equal("002", props["BUSNUM"]);
        Assert.Equal("58f/6387/100", props["PRODUCT"]);
        Assert.Equal("Mass\\x20Storage", props["ID_MODEL_ENC"]);
    }

    [Fact]
    public void KernelProperties_UsbDevice_MatchesUeventFile()
    {
        using var fx = new SysfsFixture();
        var twin = fx.AddTwinFlashDrive();
        var props = fx.KernelProperties(twin.UsbDevice, "add", 42);

        Assert.Equal(
            ["ACTION=add", $"DEVPATH={twin.UsbDevice.DevPath}", "SUBSYSTEM=usb", "MAJOR=189", "MINOR=133", "DEVNAME=bus/usb/002/006", "DEVTYPE=usb_device",
             "DRIVER=usb", "PRODUCT=58f/6387/100", "TYPE=0/0/0", "BUSNUM=002", "DEVNUM=006", "SEQNUM=42"],
            props.Select(kv => kv.Key + "=" + kv.Value));
    }

    [Fact]
    public void Unplug_RemovesDirectoriesAndLinks()
    {
        using var fx = new SysfsFixture();
        var seed = fx.AddSeedFlashDrive();
        var twin = fx.AddTwinFlashDrive();
        fx.Unplug(seed);

        Assert.False(Directory.Exists(seed.UsbDevice.Directory));
        Assert.False(File.Exists(Path.Join(fx.Root, "class/block/sdb")) || Directory.Exists(Path.Join(fx.Root, "class/block/sdb")));
        Assert.True(Directory.Exists(twin.Partition!.Directory));
        Assert.True(Directory.Exists(Path.Join(fx.Root, "bus/usb/devices/2-1")));
    }
}
