using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Devices;

public sealed class DeviceTrackerTests : IDisposable
{
    private readonly SysfsFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ObserveAsync_OnePlugWithBindEvents_OneAddPerDevice(bool udev)
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);

        var observations = new List<DeviceObservation>();
        foreach (Uevent e in _fx.PlugEvents(drive, udev))
        {
            observations.Add(await tracker.ObserveAsync(e, factory, CancellationToken.None));
        }

        var routed = observations.Where(o => o.Routes).ToList();
        Assert.Equal(drive.All.Select(n => n.DevPath).Order(StringComparer.Ordinal), routed.Select(o => o.View!.DevPath).Order(StringComparer.Ordinal));
        Assert.All(routed, o => Assert.Equal(DeviceEventKind.Add, o.Kind));
        // usb device, interface and SCSI device have drivers: three bind events, none routed.
        Assert.Equal(3, observations.Count(o => o.Kind == DeviceEventKind.Binding));
        Assert.Equal(drive.All.Count(), tracker.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ObserveAsync_BindAfterAnAddThatAwaitsIt_RoutesOnceAsTheAddWithTheDriver(bool udev)
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);
        SysfsFixture.Node iface = drive.Interfaces[0];
        // As the kernel sends it: the add before the driver binds, so without DRIVER.
        var addProperties = (udev ? _fx.UdevProperties(iface, "add", 10) : _fx.KernelProperties(iface, "add", 10)).Where(p => p.Key != "DRIVER");
        var add = await tracker.ObserveAsync(Uevent.Create(udev ? UeventSource.Udev : UeventSource.Kernel, addProperties), factory, CancellationToken.None);
        tracker.AwaitBind(iface.DevPath); // what the pipeline does when that add routed nothing

        var bind = await tracker.ObserveAsync(udev ? _fx.UdevEvent(iface, "bind", 11) : _fx.KernelEvent(iface, "bind", 11), factory, CancellationToken.None);
        var rebind = await tracker.ObserveAsync(udev ? _fx.UdevEvent(iface, "bind", 12) : _fx.KernelEvent(iface, "bind", 12), factory, CancellationToken.None);

        Assert.Equal(DeviceEventKind.Add, add.Kind);
        Assert.Equal(DeviceEventKind.Add, bind.Kind);
        Assert.Equal(UeventAction.Add, bind.View!.Event.Action);
        Assert.Equal("usb-storage", bind.View.Driver);
        Assert.Equal(11UL, bind.View.Event.SeqNum);
        Assert.Equal(DeviceEventKind.Binding, rebind.Kind);
        var rules = new Core.Rules.RuleSetLoader(Rules.RuleCorpus.KnownVms, null).LoadTexts([("t.yaml", """
            rules:
              - name: storage-bound
                match: { subsystem: usb, devtype: usb_interface, driver: usb-storage }
                hook: { run: [/bin/true] }
            """)], 1).RuleSet!;
        Assert.Equal(["storage-bound"], rules.Evaluate(bind.View).Actions.Select(a => a.Rule));
    }

    [Fact]
    public async Task ObserveAsync_BindOfAnAddThatRouted_DoesNotRoute()
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);

        await tracker.ObserveAsync(_fx.KernelEvent(drive.UsbDevice, "add", 1), factory, CancellationToken.None);
        var bind = await tracker.ObserveAsync(_fx.KernelEvent(drive.UsbDevice, "bind", 2), factory, CancellationToken.None);

        // Nobody asked for the bind (the add routed something, or had its driver): never a second add.
        Assert.Equal(DeviceEventKind.Binding, bind.Kind);
        Assert.False(bind.Routes);
    }

    [Fact]
    public async Task ObserveAsync_SecondLiveAdd_RoutesAgain()
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);

        var first = await tracker.ObserveAsync(_fx.UdevEvent(drive.UsbDevice, "add", 1), factory, CancellationToken.None);
        var second = await tracker.ObserveAsync(_fx.UdevEvent(drive.UsbDevice, "add", 2), factory, CancellationToken.None);

        // udevadm trigger or a synthetic uevent re-announces a present device: route it again
        // (downstream is idempotent); only bind/unbind must never count as a second add.
        Assert.Equal(DeviceEventKind.Add, first.Kind);
        Assert.Equal(DeviceEventKind.Add, second.Kind);
        Assert.True(second.Routes);
    }

    [Fact]
    public async Task ObserveAsync_ColdplugAddOfPresentDevice_Routes()
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);
        await tracker.ObserveAsync(_fx.UdevEvent(drive.UsbDevice), factory, CancellationToken.None);
        Uevent resync = new ColdplugEnumerator(_fx.Root).TryRead(drive.UsbDevice.DevPath, "usb")!;

        var o = await tracker.ObserveAsync(resync, factory, CancellationToken.None);

        Assert.Equal(DeviceEventKind.Add, o.Kind);
        Assert.True(o.Routes);
    }

    [Fact]
    public async Task ObserveAsync_KernelRemoveAfterUnplug_RoutedWithRememberedIdentity()
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);
        foreach (Uevent e in _fx.PlugEvents(drive, udev: false))
        {
            await tracker.ObserveAsync(e, factory, CancellationToken.None);
        }

        // The kernel's remove carries only what the uevent callbacks add (no serial, no ID_*),
        // and by the time it is read the sysfs directory is gone.
        var unplug = _fx.UnplugEvents(drive, udev: false);
        _fx.Unplug(drive);

        var observed = new List<DeviceObservation>();
        foreach (Uevent e in unplug)
        {
            observed.Add(await tracker.ObserveAsync(e, factory, CancellationToken.None));
        }

        var removed = observed.Where(o => o.Routes).ToList();
        Assert.Equal(3, observed.Count(o => o.Kind == DeviceEventKind.Binding));
        Assert.Equal(drive.All.Count(), removed.Count);
        Assert.All(removed, o => Assert.Equal(DeviceEventKind.Remove, o.Kind));
        var usb = removed.Single(o => o.View!.DevPath == drive.UsbDevice.DevPath).View!;
        var partition = removed.Single(o => o.View!.DevPath == drive.Partition!.DevPath).View!;
        Assert.Equal("058f", usb.Identity.Vendor?.ToString());
        Assert.Equal("6387", usb.Identity.Product?.ToString());
        Assert.Equal(SysfsFixture.SeedSerial, usb.Identity.Serial);
        Assert.Equal(SysfsFixture.SeedSerial, partition.Identity.Serial);
        Assert.Equal("/dev/sdb1", partition.Identity.DevNode);
        Assert.True(partition.Identity.Removable);
        Assert.Null(partition.Sysfs);
        Assert.Equal(0, tracker.Count);
    }

    [Fact]
    public async Task ObserveAsync_RemoveOfUnknownDevice_RoutesWithEventIdentity()
    {
        var tracker = new DeviceTracker();
        var e = Uevent.Create(UeventSource.Kernel, [new("ACTION", "remove"), new("DEVPATH", "/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.7"), new("SUBSYSTEM", "usb"), new("DEVTYPE", "usb_device"), new("PRODUCT", "58f/6387/100")]);

        var o = await tracker.ObserveAsync(e, new DeviceViewFactory(_fx.Root), CancellationToken.None);

        Assert.Equal(DeviceEventKind.Remove, o.Kind);
        Assert.Equal("058f", o.View!.Identity.Vendor?.ToString());
        Assert.Equal("1.7", o.View.Identity.PortPath);
    }

    [Fact]
    public async Task ObserveAsync_ReplugSameDevPath_AddsAgain()
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);

        var a = await tracker.ObserveAsync(_fx.UdevEvent(drive.UsbDevice, "add", 1), factory, CancellationToken.None);
        var r = await tracker.ObserveAsync(_fx.UdevEvent(drive.UsbDevice, "remove", 2), factory, CancellationToken.None);
        var b = await tracker.ObserveAsync(_fx.UdevEvent(drive.UsbDevice, "add", 3), factory, CancellationToken.None);

        Assert.Equal([DeviceEventKind.Add, DeviceEventKind.Remove, DeviceEventKind.Add], [a.Kind, r.Kind, b.Kind]);
    }

    [Fact]
    public async Task ObserveAsync_Change_RoutesAndRefreshesIdentity()
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);
        await tracker.ObserveAsync(_fx.UdevEvent(drive.Partition!), factory, CancellationToken.None);
        var relabelled = _fx.UdevProperties(drive.Partition!, "change", 5).Select(kv => kv.Key == "ID_FS_LABEL_ENC" ? new(kv.Key, "NEW") : kv);

        var o = await tracker.ObserveAsync(Uevent.Create(UeventSource.Udev, relabelled), factory, CancellationToken.None);

        Assert.Equal(DeviceEventKind.Change, o.Kind);
        Assert.True(tracker.TryGet(drive.Partition!.DevPath, out var tracked));
        Assert.Equal("NEW", tracked.Identity!.FsLabel);
    }

    [Theory]
    [InlineData("online", "Ignored")]
    [InlineData("offline", "Ignored")]
    [InlineData("frobnicate", "Ignored")]
    [InlineData("bind", "Binding")]
    [InlineData("unbind", "Binding")]
    public void Classify_NonRoutingActions_DoNotRoute(string action, string expectedKind)
    {
        var expected = Enum.Parse<DeviceEventKind>(expectedKind);
        var tracker = new DeviceTracker();

        var d = tracker.Classify(Uevent.Create(UeventSource.Kernel, [new("ACTION", action), new("DEVPATH", "/devices/x/y"), new("SUBSYSTEM", "usb")]));

        Assert.Equal(expected, d.Kind);
        Assert.False(d.Routes);
        Assert.Equal(0, tracker.Count);
    }

    [Fact]
    public void Classify_Move_FollowsRename()
    {
        var tracker = new DeviceTracker();
        tracker.Classify(Uevent.Create(UeventSource.Kernel, [new("ACTION", "add"), new("DEVPATH", "/devices/virtual/net/eth0"), new("SUBSYSTEM", "net")]));

        var d = tracker.Classify(Uevent.Create(UeventSource.Kernel, [new("ACTION", "move"), new("DEVPATH", "/devices/virtual/net/lan0"), new("SUBSYSTEM", "net"), new("DEVPATH_OLD", "/devices/virtual/net/eth0")]));

        Assert.Equal(DeviceEventKind.Move, d.Kind);
        Assert.Equal(["/devices/virtual/net/lan0"], tracker.Present.Select(p => p.DevPath));
    }

    [Fact]
    public async Task MissingSince_DeviceGoneDuringOverflow_YieldsRemovesChildrenFirst()
    {
        var seed = _fx.AddSeedFlashDrive();
        var twin = _fx.AddTwinFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);
        var enumerator = new ColdplugEnumerator(_fx.Root);
        foreach (Uevent e in enumerator.Enumerate(CancellationToken.None))
        {
            await tracker.ObserveAsync(e, factory, CancellationToken.None);
        }

        _fx.Unplug(seed); // its remove events were lost
        var missing = tracker.MissingSince(enumerator.ListDevices().Select(d => d.DevPath));
        var removed = new List<DeviceObservation>();
        foreach (Uevent e in missing)
        {
            removed.Add(await tracker.ObserveAsync(e, factory, CancellationToken.None));
        }

        // Only what coldplug walks (USB devices, interfaces, block devices) is tracked.
        Assert.Equal([seed.Partition!.DevPath, seed.Disk!.DevPath, seed.Interfaces[0].DevPath, seed.UsbDevice.DevPath], missing.Select(e => e.DevPath));
        Assert.All(missing, e => Assert.Equal(UeventAction.Remove, e.Action));
        Assert.Equal(SysfsFixture.SeedSerial, removed[0].View!.Identity.Serial);
        Assert.Equal("partition", removed[0].View!.DevType);
        Assert.True(tracker.TryGet(twin.Partition!.DevPath, out _));
    }

    [Fact]
    public void Classify_ConcurrentAddsOfSameDevPath_TracksOneDevice()
    {
        var tracker = new DeviceTracker();
        var e = Uevent.Create(UeventSource.Udev, [new("ACTION", "add"), new("DEVPATH", "/devices/a/b"), new("SUBSYSTEM", "usb")]);
        int adds = 0;

        Parallel.For(0, 1000, _ =>
        {
            if (tracker.Classify(e).Kind == DeviceEventKind.Add)
            {
                Interlocked.Increment(ref adds);
            }
        });

        Assert.Equal(1000, adds);
        Assert.Equal(1, tracker.Count);
    }

    [Fact]
    public async Task ObserveAsync_ChangeAfterAdd_KeepsTheAddViewForReconcile()
    {
        var drive = _fx.AddSeedFlashDrive();
        var tracker = new DeviceTracker();
        var factory = new DeviceViewFactory(_fx.Root);

        await tracker.ObserveAsync(_fx.UdevEvent(drive.Disk!, "add", 1), factory, CancellationToken.None);
        await tracker.ObserveAsync(_fx.UdevEvent(drive.Disk!, "change", 2), factory, CancellationToken.None);

        Assert.True(tracker.TryGet(drive.Disk!.DevPath, out TrackedDevice tracked));
        Assert.Equal(UeventAction.Add, tracked.View!.Event.Action);
    }
}
