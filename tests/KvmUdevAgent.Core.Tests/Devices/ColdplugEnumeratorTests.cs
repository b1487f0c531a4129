using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Devices;

public sealed class ColdplugEnumeratorTests
{
    [Fact]
    public void Enumerate_FixtureDrive_YieldsAddEventsParentsFirst()
    {
        using var fx = new SysfsFixture();
        var drive = fx.AddSeedFlashDrive();

        var events = new ColdplugEnumerator(fx.Root).Enumerate(CancellationToken.None).ToList();
        var paths = events.Select(e => e.DevPath).ToList();

        // Root hub, rate-matching hub and its interfaces come too, as on a real machine.
        Assert.Contains("/devices/pci0000:00/0000:00:1d.0/usb2", paths);
        Assert.Contains("/devices/pci0000:00/0000:00:1d.0/usb2/2-1", paths);
        int usb = paths.IndexOf(drive.UsbDevice.DevPath);
        int iface = paths.IndexOf(drive.Interfaces[0].DevPath);
        int disk = paths.IndexOf(drive.Disk!.DevPath);
        int part = paths.IndexOf(drive.Partition!.DevPath);
        Assert.True(usb >= 0 && usb < iface && iface < disk && disk < part, string.Join("\n", paths));
        Assert.All(events, e =>
        {
            Assert.Equal(UeventAction.Add, e.Action);
            Assert.True(e.Coldplug);
            Assert.Equal(UeventSource.Sysfs, e.Source);
        });
    }

    [Fact]
    public void Enumerate_FixtureDrive_CarriesUeventFileProperties()
    {
        using var fx = new SysfsFixture();
        var drive = fx.AddSeedFlashDrive();

        var events = new ColdplugEnumerator(fx.Root).Enumerate(CancellationToken.None).ToDictionary(e => e.DevPath);

        // What the kernel would send for "add", minus SEQNUM.
        Assert.Equal(fx.KernelProperties(drive.UsbDevice), events[drive.UsbDevice.DevPath].Properties);
        Assert.Equal(fx.KernelProperties(drive.Interfaces[0]), events[drive.Interfaces[0].DevPath].Properties);
        Assert.Equal(fx.KernelProperties(drive.Partition!), events[drive.Partition!.DevPath].Properties);
        Assert.Equal("partition", events[drive.Partition.DevPath].DevType);
        Assert.Equal("block", events[drive.Partition.DevPath].Subsystem);
    }

    [Fact]
    public void Enumerate_UnpluggedDrive_IsGone()
    {
        using var fx = new SysfsFixture();
        var seed = fx.AddSeedFlashDrive();
        var twin = fx.AddTwinFlashDrive();
        fx.Unplug(seed);

        var paths = new ColdplugEnumerator(fx.Root).Enumerate(CancellationToken.None).Select(e => e.DevPath).ToList();

        Assert.DoesNotContain(seed.UsbDevice.DevPath, paths);
        Assert.DoesNotContain(seed.Partition!.DevPath, paths);
        Assert.Contains(twin.Partition!.DevPath, paths);
    }

    [Fact]
    public void Enumerate_Cancelled_Throws()
    {
        using var fx = new SysfsFixture();
        fx.AddSeedFlashDrive();
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.Throws<OperationCanceledException>(() => new ColdplugEnumerator(fx.Root).Enumerate(cts.Token).ToList());
    }

    [Fact]
    public void Enumerate_MissingRoot_YieldsNothing()
    {
        Assert.Empty(new ColdplugEnumerator("/nonexistent-kua-sysfs").Enumerate(CancellationToken.None));
    }

    [Fact]
    public void Enumerate_RealSys_FindsBlockDevicesAndNewLoopDevice()
    {
        string image = Path.Join(Path.GetTempPath(), "kua-coldplug-" + Guid.NewGuid().ToString("N") + ".img");
        string? loop = null;
        try
        {
            using (var f = File.Create(image))
            {
                f.SetLength(4 * 1024 * 1024);
            }

            loop = ToolRunner.Run("losetup", "util-linux", "-f", "--show", "--", image).Trim();
            string loopName = Path.GetFileName(loop);

            var before = new DirectoryInfo("/sys/class/block").GetFileSystemInfos().Select(i => i.Name).ToHashSet();
            var events = new ColdplugEnumerator("/sys").Enumerate(CancellationToken.None).ToList();
            var after = new DirectoryInfo("/sys/class/block").GetFileSystemInfos().Select(i => i.Name).ToHashSet();

            var loopEvent = Assert.Single(events, e => e.KernelName == loopName);
            Assert.Equal("block", loopEvent.Subsystem);
            Assert.Equal("disk", loopEvent.DevType);
            Assert.Equal(loopName, loopEvent.GetString("DEVNAME"));
            Assert.StartsWith("/devices/virtual/block/", loopEvent.DevPath, StringComparison.Ordinal);
            Assert.Equal("7", loopEvent.GetString("MAJOR"));
            // Every block device the machine shows in /sys/class/block (vda, loop*, ...) is found;
            // other tests may add or remove loop devices meanwhile, so only those present throughout count.
            before.IntersectWith(after);
            Assert.NotEmpty(before);
            Assert.Subset(before, events.Where(e => e.Subsystem == "block").Select(e => e.KernelName).ToHashSet());
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
    public void TryRead_DevPathOnly_TakesSubsystemFromLink()
    {
        using var fx = new SysfsFixture();
        var drive = fx.AddSeedFlashDrive();
        var enumerator = new ColdplugEnumerator(fx.Root);

        var e = enumerator.TryRead(drive.Disk!.DevPath);

        Assert.NotNull(e);
        Assert.Equal("block", e.Subsystem);
        Assert.Equal("disk", e.DevType);
        Assert.Null(enumerator.TryRead("/devices/../../etc"));
        Assert.Null(enumerator.TryRead(drive.Disk.DevPath + "/nope"));
    }
}
