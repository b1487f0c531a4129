using System.Text;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Devices;

public sealed class DeviceViewFactoryTests : IDisposable
{
    private readonly SysfsFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void Create_UdevUsbDevice_IdentityFromProperties()
    {
        var drive = _fx.AddSeedFlashDrive();
        var view = new DeviceViewFactory(_fx.Root).Create(_fx.UdevEvent(drive.UsbDevice));
        var id = view.Identity;

        Assert.Equal("058f", id.Vendor?.ToString());
        Assert.Equal("6387", id.Product?.ToString());
        Assert.Equal("576B63C4", id.Serial);
        Assert.Equal("Generic", id.Manufacturer);
        Assert.Equal("Mass Storage", id.Model);
        Assert.Equal(2, id.BusNum);
        Assert.Equal(5, id.DevNum);
        Assert.Equal("1.4", id.PortPath);
        Assert.Equal(drive.UsbDevice.DevPath, id.UsbDevPath);
        Assert.Equal(["08:06:50"], id.Interfaces.ToArray());
        Assert.Equal("2-1.4", id.Kernel);
        Assert.Equal("/dev/bus/usb/002/005", id.DevNode);
        Assert.Null(id.SizeBytes);
        Assert.Equal("usb", view.Driver);
        Assert.Equal("usb_device", view.DevType);
    }

    [Fact]
    public void Create_KernelPartition_IdentityFromSysfsParentWalk()
    {
        var drive = _fx.AddSeedFlashDrive();
        var view = new DeviceViewFactory(_fx.Root).Create(_fx.KernelEvent(drive.Partition!));
        var id = view.Identity;

        Assert.Equal("058f", id.Vendor?.ToString());
        Assert.Equal("6387", id.Product?.ToString());
        Assert.Equal("576B63C4", id.Serial);
        Assert.Equal("Generic", id.Manufacturer);
        Assert.Equal("Mass Storage", id.Model);
        Assert.Equal(2, id.BusNum);
        Assert.Equal(5, id.DevNum);
        Assert.Equal("1.4", id.PortPath);
        Assert.Equal(drive.UsbDevice.DevPath, id.UsbDevPath);
        Assert.Equal(["08:06:50"], id.Interfaces.ToArray());
        Assert.Equal("sdb1", id.Kernel);
        Assert.Equal("/dev/sdb1", id.DevNode);
        Assert.Equal((8_053_063_680L / 512 - 2048) * 512, id.SizeBytes);
        Assert.True(id.Removable); // from the disk: a partition has no "removable"
        Assert.Null(id.FsLabel); // a kernel event has no ID_FS_*, and Create never probes
        Assert.NotNull(view.Sysfs);
    }

    public static TheoryData<string> DriveNodes => new() { "usb", "interface", "host", "target", "scsi", "disk", "partition" };

    [Theory]
    [MemberData(nameof(DriveNodes))]
    public void Create_UdevAndKernelEvents_SameIdentityApartFromFilesystem(string which)
    {
        var drive = _fx.AddCompositeFlashKeyboard();
        var node = Pick(drive, which);
        var factory = new DeviceViewFactory(_fx.Root);

        var fromUdev = factory.Create(_fx.UdevEvent(node)).Identity;
        var fromSysfs = factory.Create(_fx.KernelEvent(node)).Identity;

        AssertSameIdentity(fromUdev with { FsLabel = null, FsUuid = null, FsType = null }, fromSysfs);
        Assert.Equal(["08:06:50", "03:01:01"], fromSysfs.Interfaces.ToArray());
    }

    [Fact]
    public void Create_UdevUsbDeviceWithoutSysfs_SameIdentityAsFromSysfs()
    {
        var drive = _fx.AddSeedFlashDrive();
        var factory = new DeviceViewFactory(_fx.Root);
        var fromSysfs = factory.Create(_fx.KernelEvent(drive.UsbDevice)).Identity;
        var udevEvent = _fx.UdevEvent(drive.UsbDevice);
        _fx.Unplug(drive);

        var view = factory.Create(udevEvent);

        Assert.Null(view.Sysfs);
        AssertSameIdentity(fromSysfs, view.Identity);
    }

    [Fact]
    public void Create_KernelUsbDeviceWithoutSysfs_IdentityFromProductAndKernelName()
    {
        var drive = _fx.AddSeedFlashDrive();
        var kernelEvent = _fx.KernelEvent(drive.UsbDevice);
        _fx.Unplug(drive);

        var id = new DeviceViewFactory(_fx.Root).Create(kernelEvent).Identity;

        Assert.Equal("058f", id.Vendor?.ToString()); // PRODUCT=58f/6387/100
        Assert.Equal("6387", id.Product?.ToString());
        Assert.Null(id.Serial);
        Assert.Equal(2, id.BusNum);
        Assert.Equal(5, id.DevNum);
        Assert.Equal("1.4", id.PortPath);
    }

    [Fact]
    public void Create_UdevPartitionWithSpacedLabel_DecodesEncodedLabel()
    {
        var drive = _fx.UsbDevice(2, "1.1", "0781", "5567").Strings("SanDisk", "Cruzer Blade", "4C530001")
            .Interface(0x08, 0x06, 0x50, "usb-storage").ScsiDisk("sde", 16_008_609_792, "SanDisk", "Cruzer Blade")
            .Partition("vfat", "MY STICK \\x41", "DEAD-BEEF").Add();
        var props = _fx.UdevProperties(drive.Partition!).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("MY_STICK_\\x41", props["ID_FS_LABEL"]);

        var id = new DeviceViewFactory(_fx.Root).Create(_fx.UdevEvent(drive.Partition!)).Identity;

        Assert.Equal("MY STICK \\x41", id.FsLabel);
        Assert.Equal("DEAD-BEEF", id.FsUuid);
        Assert.Equal("vfat", id.FsType);
        Assert.Equal("0781", id.Vendor?.ToString());
        Assert.Equal("1.1", id.PortPath);
    }

    [Fact]
    public void Create_BogusVendorId_LeavesVendorNull()
    {
        var drive = _fx.AddSeedFlashDrive();
        var props = _fx.UdevProperties(drive.UsbDevice).Select(kv => kv.Key == "ID_VENDOR_ID" || kv.Key == "ID_USB_VENDOR_ID" ? new(kv.Key, "05 8f\"; rm -rf /") : kv);

        var id = new DeviceViewFactory(_fx.Root).Create(Uevent.Create(UeventSource.Udev, props)).Identity;

        Assert.Null(id.Vendor);
        Assert.Equal("6387", id.Product?.ToString());
    }

    [Fact]
    public void Create_HostileSerialInSysfs_StoredRaw()
    {
        const string hostile = "A\nB\"C' $(reboot)";
        var drive = _fx.UsbDevice(2, "1.5", "1234", "abcd").Strings("Evil", "Stick", hostile).Interface(0x08, 0x06, 0x50, "usb-storage").Add();
        var udevProps = _fx.UdevProperties(drive.UsbDevice);
        Assert.DoesNotContain(udevProps, kv => kv.Key == "ID_SERIAL_SHORT"); // udev refuses control characters

        var fromUdev = new DeviceViewFactory(_fx.Root).Create(_fx.UdevEvent(drive.UsbDevice)).Identity;
        var fromKernel = new DeviceViewFactory(_fx.Root).Create(_fx.KernelEvent(drive.UsbDevice)).Identity;

        Assert.Equal(hostile, fromUdev.Serial);
        Assert.Equal(hostile, fromKernel.Serial);
    }

    [Fact]
    public void Create_SerialWithSpaces_SameFromUdevAndKernel()
    {
        var drive = _fx.UsbDevice(2, "1.7", "1234", "abcd").Strings("Acme", "Stick", " 12  34 ").Interface(0x08, 0x06, 0x50, "usb-storage").Add();
        Assert.Contains(_fx.UdevProperties(drive.UsbDevice), kv => kv.Key == "ID_SERIAL_SHORT" && kv.Value == "12_34");
        var factory = new DeviceViewFactory(_fx.Root);

        var fromUdev = factory.Create(_fx.UdevEvent(drive.UsbDevice)).Identity;
        var fromKernel = factory.Create(_fx.KernelEvent(drive.UsbDevice)).Identity;

        // sysfs keeps the leading spaces; attribute reads trim only trailing whitespace, as udev's ATTRS{} does.
        Assert.Equal(" 12  34", fromUdev.Serial);
        Assert.Equal(fromUdev, fromKernel);
    }

    [Fact]
    public void Create_InvalidUtf8Serial_DoesNotThrow()
    {
        var drive = _fx.UsbDevice(2, "1.6", "1234", "abcd").SerialBytes([0x41, 0xff, 0xfe, 0x42]).Interface(0x08, 0x06, 0x50, "usb-storage").Add();

        var id = new DeviceViewFactory(_fx.Root).Create(_fx.KernelEvent(drive.UsbDevice)).Identity;

        Assert.Equal("A\uFFFD\uFFFDB", id.Serial);
        Assert.Equal("1234", id.Vendor?.ToString());
    }

    [Fact]
    public void Create_HostileDevName_NoDevNode()
    {
        var drive = _fx.AddSeedFlashDrive();
        var props = _fx.UdevProperties(drive.Partition!).Select(kv => kv.Key == "DEVNAME" ? new(kv.Key, "/dev/../etc/shadow") : kv);

        var id = new DeviceViewFactory(_fx.Root).Create(Uevent.Create(UeventSource.Udev, props)).Identity;

        Assert.Null(id.DevNode);
    }

    [Fact]
    public void Create_RemoveWithRememberedIdentity_UsesItAndSkipsSysfs()
    {
        var drive = _fx.AddSeedFlashDrive();
        var factory = new DeviceViewFactory(_fx.Root);
        var atAdd = factory.Create(_fx.UdevEvent(drive.Partition!)).Identity;
        var remove = Uevent.Create(UeventSource.Kernel, [new("ACTION", "remove"), new("DEVPATH", drive.Partition!.DevPath), new("SUBSYSTEM", "block")]);

        var view = factory.Create(remove, atAdd);

        Assert.Same(atAdd, view.Identity);
        Assert.Null(view.Sysfs);
        Assert.Equal(UeventAction.Remove, view.Event.Action);
    }

    [Fact]
    public void Create_RemoveWithoutMemory_KeepsWhatTheDevPathSays()
    {
        var drive = _fx.AddSeedFlashDrive();
        var remove = Uevent.Create(UeventSource.Kernel, [new("ACTION", "remove"), new("DEVPATH", drive.Partition!.DevPath), new("SUBSYSTEM", "block"), new("DEVNAME", "sdb1")]);

        var id = new DeviceViewFactory(_fx.Root).Create(remove).Identity;

        Assert.Null(id.Vendor);
        Assert.Equal("1.4", id.PortPath);
        Assert.Equal(2, id.BusNum);
        Assert.Equal(drive.UsbDevice.DevPath, id.UsbDevPath);
        Assert.Equal("/dev/sdb1", id.DevNode);
    }

    [Fact]
    public void Create_NonUsbBlockDevice_NoUsbIdentity()
    {
        var e = Uevent.Create(UeventSource.Kernel, [new("ACTION", "add"), new("DEVPATH", "/devices/pci0000:00/0000:00:04.0/virtio2/block/vda"), new("SUBSYSTEM", "block"), new("DEVNAME", "vda")]);

        var id = new DeviceViewFactory(_fx.Root).Create(e).Identity;

        Assert.Null(id.UsbDevPath);
        Assert.Null(id.PortPath);
        Assert.Null(id.BusNum);
        Assert.Empty(id.Interfaces);
    }

    [Fact]
    public void Create_TwinDrives_DifferBySerialAndPort()
    {
        var seed = _fx.AddSeedFlashDrive();
        var twin = _fx.AddTwinFlashDrive();
        var factory = new DeviceViewFactory(_fx.Root);

        var a = factory.Create(_fx.KernelEvent(seed.Partition!)).Identity;
        var b = factory.Create(_fx.KernelEvent(twin.Partition!)).Identity;

        Assert.Equal(a.Vendor, b.Vendor);
        Assert.Equal(a.Product, b.Product);
        Assert.Equal((SysfsFixture.SeedSerial, "1.4"), (a.Serial, a.PortPath));
        Assert.Equal((SysfsFixture.TwinSerial, "1.3"), (b.Serial, b.PortPath));
    }

    [Fact]
    public async Task CreateAsync_KernelEventOnLoopDevice_ProbesExt4WithBlkid()
    {
        const string label = "kua t'st\"$x";
        string image = Path.Join(Path.GetTempPath(), "kua-blkid-" + Guid.NewGuid().ToString("N") + ".img");
        string? loop = null;
        try
        {
            using (var f = File.Create(image))
            {
                f.SetLength(8 * 1024 * 1024);
            }

            ToolRunner.Run("mkfs.ext4", "e2fsprogs", "-q", "-L", label, image);
            loop = ToolRunner.Run("losetup", "util-linux", "-f", "--show", "--", image).Trim();
            string uuid = ToolRunner.Run("blkid", "util-linux", "-p", "-s", "UUID", "-o", "value", "--", loop).Trim();
            string devPath = "/devices/virtual/block/" + Path.GetFileName(loop);
            Uevent e = new ColdplugEnumerator("/sys").TryRead(devPath, "block")!;
            var kernelEvent = Uevent.Create(UeventSource.Kernel, e.Properties);
            var factory = new DeviceViewFactory("/sys", new BlkidProbe(ToolRunner.Find("blkid") ?? throw new InvalidOperationException("'blkid' is not installed; install the Debian package 'util-linux'")));

            var view = await factory.CreateAsync(kernelEvent, null, null, CancellationToken.None);
            var udevView = await factory.CreateAsync(Uevent.Create(UeventSource.Udev, e.Properties), null, null, CancellationToken.None);

            Assert.Equal(label, view.Identity.FsLabel);
            Assert.Equal("ext4", view.Identity.FsType);
            Assert.Equal(uuid, view.Identity.FsUuid);
            Assert.Equal(loop, view.Identity.DevNode);
            Assert.Equal(8 * 1024 * 1024, view.Identity.SizeBytes);
            Assert.False(view.Identity.Removable);
            Assert.Null(udevView.Identity.FsType); // udevd already probed: no ID_FS_* means nothing there
        }
        finally
        {
            if (loop is not null)
            {
                ToolRunner.Run("losetup", "util-linux", "-d", loop);
            }

            File.Delete(image);
        }
    }

    [Fact]
    public async Task CreateAsync_DevNodeMissing_DoesNotProbe()
    {
        var drive = _fx.AddSeedFlashDrive(disk: "sdz");
        var probe = new BlkidProbe("/nonexistent/blkid");

        var view = await new DeviceViewFactory(_fx.Root, probe).CreateAsync(_fx.KernelEvent(drive.Partition!), null, null, CancellationToken.None);

        Assert.Null(view.Identity.FsType);
        Assert.Equal("/dev/sdz1", view.Identity.DevNode);
    }

    [Fact]
    public void SysfsDevice_ParentWalk_ReadsAttributesLikeUdevAttrs()
    {
        var drive = _fx.AddSeedFlashDrive();
        var partition = new SysfsDevice(_fx.Root, drive.Partition!.DevPath);

        var chain = partition.SelfAndAncestors().Select(d => d.Kernel).ToList();
        var firstWithVendor = partition.SelfAndAncestors().First(d => d.TryGetAttribute("idVendor", out _));
        var scsi = partition.SelfAndAncestors().First(d => d.TryGetAttribute("model", out _));

        Assert.Equal(["sdb1", "sdb", "6:0:0:0", "target6:0:0", "host6", "2-1.4:1.0", "2-1.4", "2-1", "usb2", "0000:00:1d.0", "pci0000:00"], chain);
        Assert.Equal("2-1.4", firstWithVendor.Kernel); // the drive, not the hub above it
        Assert.Equal("Generic", scsi.GetAttribute("vendor")); // "Generic " with its padding trimmed
        Assert.Equal("Flash Disk", scsi.GetAttribute("model"));
        Assert.Equal("usb-storage", partition.SelfAndAncestors().First(d => d.Kernel == "2-1.4:1.0").Driver);
        Assert.Equal("usb_device", partition.FindSelfOrAncestor("usb", "usb_device")!.DevType);
        Assert.Null(partition.GetAttribute("../../idVendor"));
    }

    [Fact]
    public void DeviceIdentity_Equals_ComparesInterfacesByValue()
    {
        var a = new DeviceIdentity { Serial = "x", Interfaces = ["08:06:50"] };
        var b = new DeviceIdentity { Serial = "x", Interfaces = ["08:06:50"] };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Interfaces = ["08:06:50", "03:01:01"] });
    }

    private static SysfsFixture.Node Pick(SysfsFixture.Drive d, string which) => which switch
    {
        "usb" => d.UsbDevice,
        "interface" => d.Interfaces[0],
        "host" => d.ScsiHost!,
        "target" => d.ScsiTarget!,
        "scsi" => d.ScsiDevice!,
        "disk" => d.Disk!,
        _ => d.Partition!,
    };

    private static void AssertSameIdentity(DeviceIdentity expected, DeviceIdentity actual)
    {
        Assert.Equal(expected.Interfaces.ToArray(), actual.Interfaces.ToArray());
        Assert.Equal(expected, actual);
    }
}
