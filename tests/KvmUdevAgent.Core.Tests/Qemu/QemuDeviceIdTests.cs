using System.Text.RegularExpressions;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed partial class QemuDeviceIdTests
{
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_.-]*\z")]
    private static partial Regex QemuIdCharset();

    [Fact]
    public void ForUsbHost_SeedDrive_IsReadableAndValid()
    {
        Assert.True(UsbHostDevice.TryCreate(2, "1.4", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? device, out string? reason), reason);
        Assert.Equal("kua-u2-1.4-058f6387", device.Id);
        Assert.True(QemuDeviceId.IsAgentId(device.Id));
    }

    [Fact]
    public void ForUsbHost_LongestPortPath_StaysUnder64AndInCharset()
    {
        Assert.True(UsbHostDevice.TryCreate(999, "255.255.255.255.255.255.255", new UsbId(0xffff), new UsbId(0xffff), out UsbHostDevice? device, out string? reason), reason);
        Assert.True(device.Id.Length < 64);
        Assert.Matches(QemuIdCharset(), device.Id);
    }

    [Theory]
    [InlineData(0, "1.4")]
    [InlineData(1, "")]
    [InlineData(1, "1.4;quit")]
    [InlineData(1, "1..4")]
    [InlineData(1, "0")]
    [InlineData(1, "1.2.3.4.5.6.7.8")]
    public void UsbHostDevice_TryCreate_BadBusOrPort_Rejects(int bus, string port)
    {
        Assert.False(UsbHostDevice.TryCreate(bus, port, new UsbId(1), new UsbId(2), out _, out string? reason));
        Assert.NotNull(reason);
    }

    [Fact]
    public void ForBlock_IdenticalDrivesWithDifferentSerials_GetDifferentIds()
    {
        Assert.True(BlockAttachRequest.TryCreate("/dev/sdb", BlockDeviceModel.UsbStorage, true, "058f:6387:AAAA", null, null, out BlockAttachRequest? a, out _));
        Assert.True(BlockAttachRequest.TryCreate("/dev/sdb", BlockDeviceModel.UsbStorage, true, "058f:6387:BBBB", null, null, out BlockAttachRequest? b, out _));
        Assert.True(BlockAttachRequest.TryCreate("/dev/sdb", BlockDeviceModel.UsbStorage, true, "058f:6387:AAAA", null, null, out BlockAttachRequest? again, out _));
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(a.Id, again.Id);
        Assert.Matches(QemuIdCharset(), a.Id);
        Assert.True(a.NodeName.Length <= 31, "QEMU limits node names to 31 characters");
    }

    [Fact]
    public void ForBlock_HostileIdentity_OnlyEntersTheHash()
    {
        Assert.True(BlockAttachRequest.TryCreate("/dev/sdb", BlockDeviceModel.VirtioBlk, false, "x\n\";device_del vm0", "x\n\";device_del vm0", null, out BlockAttachRequest? request, out _));
        Assert.Matches("^kua-b[0-9a-f]{12}$", request.Id);
    }

    [Theory]
    [InlineData("sdb")]
    [InlineData("/dev/sd b")]
    [InlineData("/dev/../etc/passwd")]
    [InlineData("/dev/disk/by-path/pci-0000:00:14.0")]
    [InlineData("/dev/sdb,readonly=off")]
    public void BlockAttachRequest_TryCreate_UnsafeDevNode_Rejects(string devNode)
    {
        Assert.False(BlockAttachRequest.TryCreate(devNode, BlockDeviceModel.UsbStorage, true, null, null, null, out _, out string? reason));
        Assert.Equal("the device node must be an absolute path under /dev/ made of [A-Za-z0-9_./-]", reason);
    }

    [Fact]
    public void BlockAttachRequest_FromIdentity_TwinDrivesDifferAndSerialGoesToGuest()
    {
        var seed = new DeviceIdentity { Vendor = new UsbId(0x058f), Product = new UsbId(0x6387), Serial = "576B63C4", BusNum = 2, PortPath = "1.4", DevNode = "/dev/sdb" };
        var twin = seed with { Serial = "0000AAAA", PortPath = "1.3" };
        Assert.True(BlockAttachRequest.TryCreate(seed, BlockDeviceModel.UsbStorage, true, false, null, out BlockAttachRequest? a, out _));
        Assert.True(BlockAttachRequest.TryCreate(twin, BlockDeviceModel.UsbStorage, true, false, null, out BlockAttachRequest? b, out _));
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal("576B63C4", a.GuestSerial);
        Assert.False(BlockAttachRequest.TryCreate(seed with { DevNode = null }, BlockDeviceModel.UsbStorage, true, false, null, out _, out string? reason));
        Assert.Equal("the device node must be an absolute path under /dev/ made of [A-Za-z0-9_./-]", reason);
    }

    [Theory]
    [InlineData(true, null, true)]
    [InlineData(false, null, false)]
    [InlineData(null, null, false)]
    [InlineData(false, true, true)]
    [InlineData(true, false, false)]
    public void BlockAttachRequest_FromIdentity_RemovableFollowsHostDiskUnlessRuleForcesIt(bool? hostRemovable, bool? forced, bool expected)
    {
        var drive = new DeviceIdentity { Serial = "576B63C4", DevNode = "/dev/sdb", Removable = hostRemovable };
        // The plan decides (RuleSet.PlanAttach); the request carries what it decided.
        bool planned = RuleSet.PlanAttach("r", "vm", AttachKind.UsbStorage, false, forced, drive).Removable == true;
        Assert.True(BlockAttachRequest.TryCreate(drive, BlockDeviceModel.UsbStorage, false, planned, null, out BlockAttachRequest? usb, out _));
        Assert.Equal(expected, usb.Removable);
        // virtio-blk has no such property.
        bool plannedVirtio = RuleSet.PlanAttach("r", "vm", AttachKind.VirtioBlk, false, forced, drive).Removable == true;
        Assert.True(BlockAttachRequest.TryCreate(drive, BlockDeviceModel.VirtioBlk, false, plannedVirtio, null, out BlockAttachRequest? virtio, out _));
        Assert.False(virtio.Removable);
    }
}
