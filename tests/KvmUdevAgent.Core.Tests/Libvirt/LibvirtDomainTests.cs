using System.Xml.Linq;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Libvirt;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Core.Tests.Libvirt;

/// <summary>The libvirt backend against a real libvirtd running a real (TCG) QEMU.</summary>
[Collection(LibvirtTestGroup.Name)]
public sealed class LibvirtDomainTests(LibvirtFixture fixture)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AttachAsync_LoopDriveReadOnly_UsbDiskInLiveXmlQemuHasItDetachRemovesIt()
    {
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri);
        using var domain = new LibvirtDomain("winxp", fixture.Domain, connection);
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, "key", "576B63C4", null, out BlockAttachRequest? plain, out _));
        BlockAttachRequest request = plain with { Removable = true };

        Assert.Equal(AttachResult.Attached, await domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout));

        XElement disk = await AgentDiskAsync(request.Id);
        Assert.Equal(loop.DevicePath, (string?)disk.Element("source")!.Attribute("dev"));
        Assert.Equal("usb", (string?)disk.Element("target")!.Attribute("bus"));
        Assert.Equal("on", (string?)disk.Element("target")!.Attribute("removable"));
        Assert.NotNull(disk.Element("readonly"));
        Assert.Equal("576B63C4", (string?)disk.Element("serial"));
        Assert.Contains(loop.DevicePath, fixture.Libvirtd.QemuOpenDevices(fixture.Domain));
        Assert.Equal(AttachResult.AlreadyPresent, await domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout));

        Assert.Equal(DetachResult.Detached, await domain.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout));

        Assert.DoesNotContain("ua-" + request.Id, await fixture.Libvirtd.LiveXmlAsync(fixture.Domain), StringComparison.Ordinal);
        // The device-removed event comes at DEVICE_DELETED; libvirt's blockdev-del closes the node a moment later.
        await WaitForAsync(() => Task.FromResult(fixture.Libvirtd.QemuOpenDevices(fixture.Domain).Contains(loop.DevicePath) ? null : "released"));
        Assert.Equal(DetachResult.AlreadyGone, await domain.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout));
        AssertNotTainted(fixture.Domain);
    }

    /// <summary>
    /// Found in issue 15's full runs: a detach that returned Pending (no device-removed event within
    /// the timeout, QEMU slow on a loaded machine) was asked for again by the next reconcile. libvirt
    /// then sent a second device_del, QEMU (between unplugging the device and saying so) answered
    /// DeviceNotFound, libvirt took that as removed, ran blockdev-del too early ("Node ... is in use")
    /// and dropped the disk from the live XML while QEMU kept the drive open for good.
    /// </summary>
    [Fact]
    public async Task DetachAsync_AgainWhileTheFirstUnplugIsPending_LibvirtAskedOnce_QemuReleasesTheDrive()
    {
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        // No wait for the device-removed event: every detach that libvirt has not finished is Pending.
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri, new LibvirtOptions { DetachTimeout = TimeSpan.Zero });
        using var domain = new LibvirtDomain("winxp", fixture.Domain, connection);
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, "pending-" + loop.Name, null, null, out BlockAttachRequest? request, out _));
        Assert.Equal(AttachResult.Attached, await domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout));
        int mark = fixture.Libvirtd.MonitorLogMark();

        DetachResult first = await domain.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout);
        DetachResult second = await domain.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout);

        await WaitForAsync(async () => (await fixture.Libvirtd.LiveXmlAsync(fixture.Domain)).Contains("ua-" + request.Id, StringComparison.Ordinal) ? null : "gone");
        await WaitForAsync(() => Task.FromResult(fixture.Libvirtd.QemuOpenDevices(fixture.Domain).Contains(loop.DevicePath) ? null : "released"));
        IReadOnlyList<string> deviceDels = fixture.Libvirtd.SentSince(mark, "\"device_del\",\"arguments\":{\"id\":\"ua-" + request.Id + "\"}");
        Assert.True(deviceDels.Count == 1, $"detach results {first}, {second}; libvirt's device_del for the drive:\n{string.Join('\n', deviceDels)}\n{fixture.Libvirtd.UnplugTrace()}");
    }

    [Fact]
    public async Task AttachAsync_HostileSerial_LiveXmlHasOnlyTheIntendedDisk()
    {
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri);
        using var domain = new LibvirtDomain("winxp", fixture.Domain, connection);
        const string hostile = "x</serial><source dev='/dev/sda'/><readonly/><serial>";
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: false, hostile, hostile, null, out BlockAttachRequest? request, out _));
        try
        {
            await domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout);
            XElement disk = await AgentDiskAsync(request.Id);
            Assert.Equal(loop.DevicePath, (string?)disk.Element("source")!.Attribute("dev"));
            Assert.Null(disk.Element("readonly"));
            Assert.Null(disk.Element("serial"));
            Assert.DoesNotContain("/dev/sda'", await fixture.Libvirtd.LiveXmlAsync(fixture.Domain), StringComparison.Ordinal);
        }
        finally
        {
            await domain.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout);
        }
    }

    [Fact]
    public async Task AttachAsync_UsbHostOnHostWithoutUsb_LibvirtRefusalNamesTheDevice()
    {
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri);
        using var domain = new LibvirtDomain("winxp", fixture.Domain, connection);
        Assert.True(UsbHostDevice.TryCreate(2, "1.4", Id("058f"), Id("6387"), out UsbHostDevice? device, out _));

        var e = await Assert.ThrowsAsync<LibvirtException>(() => domain.AttachAsync(device with { DevNum = 5 }, CancellationToken.None).WaitAsync(s_timeout));

        // With no USB bus at all libvirt cannot list /sys/bus/usb/devices; with an empty one it names the device.
        Assert.StartsWith($"libvirt refused to attach kua-u2-1.4-058f6387 to domain '{fixture.Domain}': ", e.Message, StringComparison.Ordinal);
        Assert.True(
            e.Message.Contains("Did not find USB device 058f:6387 bus:2 device:5", StringComparison.Ordinal)
            || e.Message.Contains("/sys/bus/usb/devices", StringComparison.Ordinal),
            e.Message);
        Assert.DoesNotContain("ua-kua-u", await fixture.Libvirtd.LiveXmlAsync(fixture.Domain), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttachAsync_UnknownDomain_NamesItAndHowToList()
    {
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri);
        using var domain = new LibvirtDomain("ghost", "no-such-domain", connection);
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, false, "k", null, null, out BlockAttachRequest? request, out _));

        var e = await Assert.ThrowsAsync<LibvirtException>(() => domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout));

        Assert.Equal($"libvirtd at {fixture.Libvirtd.Uri} has no domain named 'no-such-domain' (virsh -c '{fixture.Libvirtd.Uri}' list --all shows the names)", e.Message);
    }

    [Fact]
    public async Task AttachAsync_DomainWithoutUsbController_SaysSo()
    {
        string bare = await fixture.Libvirtd.CreateDomainAsync("kua-nousb", usbController: false);
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri);
        using var domain = new LibvirtDomain("bare", bare, connection);
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, false, "k", null, null, out BlockAttachRequest? request, out _));
        try
        {
            var e = await Assert.ThrowsAsync<LibvirtException>(() => domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout));
            Assert.Equal($"libvirt domain '{bare}' has no USB controller; add one to its definition (virsh edit: <controller type='usb' model='qemu-xhci'/>) and restart it", e.Message);
        }
        finally
        {
            await fixture.Libvirtd.DestroyDomainAsync(bare);
        }
    }

    [Fact]
    public async Task AttachAsync_DomainShutOff_NotRunningUntilStartedThenCameBackRuns()
    {
        string name = await fixture.Libvirtd.CreateDomainAsync("kua-restart");
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri);
        using var domain = new LibvirtDomain("restart", name, connection);
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, false, "k", null, null, out BlockAttachRequest? request, out _));
        var cameBack = new TaskCompletionSource<AttachResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await fixture.Libvirtd.DestroyDomainAsync(name);
        connection.OnCameBack(name, async ct => cameBack.TrySetResult(await domain.AttachAsync(request, ct)));

        await Assert.ThrowsAsync<LibvirtDomainNotRunningException>(() => domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout));
        Assert.Empty((await domain.ListAgentDevicesAsync(CancellationToken.None)).Devices);
        await fixture.Libvirtd.StartDomainAsync(name);

        Assert.Equal(AttachResult.Attached, await cameBack.Task.WaitAsync(s_timeout));
        Assert.Contains("ua-" + request.Id, await fixture.Libvirtd.LiveXmlAsync(name), StringComparison.Ordinal);
        await fixture.Libvirtd.DestroyDomainAsync(name);
    }

    [Fact]
    public async Task Connection_LibvirtdRestarted_ReconnectsAndRunsCameBackAgain()
    {
        await using LibvirtConnection connection = new(fixture.Libvirtd.Uri, new LibvirtOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(500) });
        var connects = System.Threading.Channels.Channel.CreateUnbounded<int>();
        connection.OnCameBack(fixture.Domain, ct => connects.Writer.WriteAsync(connection.ConnectCount, ct).AsTask());
        connection.Start();
        Assert.Equal(1, await connects.Reader.ReadAsync().AsTask().WaitAsync(s_timeout));

        await fixture.Libvirtd.StopLibvirtdAsync();
        try
        {
            var e = await WaitForAsync(async () =>
            {
                try
                {
                    await new LibvirtDomain("winxp", fixture.Domain, connection).ListAgentDevicesAsync(CancellationToken.None);
                    return null;
                }
                catch (LibvirtDisconnectedException disconnected)
                {
                    return disconnected;
                }
            });
            Assert.StartsWith($"libvirtd at {fixture.Libvirtd.Uri} is not connected (", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Libvirtd.StartLibvirtdAsync();
        }

        Assert.Equal(2, await connects.Reader.ReadAsync().AsTask().WaitAsync(s_timeout));
        using var domain = new LibvirtDomain("winxp", fixture.Domain, connection);
        Assert.Equal(DomainState.Paused, await domain.GetStateAsync(CancellationToken.None).WaitAsync(s_timeout));
    }

    [Fact]
    public async Task Connection_LibvirtdDown_SaysWhyAndKeepsRetrying()
    {
        string socket = Path.Combine(fixture.Libvirtd.Dir, "nowhere", "libvirt-sock");
        await using LibvirtConnection connection = new("qemu:///system?socket=" + socket, new LibvirtOptions { InitialBackoff = TimeSpan.FromMilliseconds(50) });
        connection.Start();
        using var domain = new LibvirtDomain("winxp", "winxp", connection);

        string error = await WaitForAsync(() => Task.FromResult(connection.LastError));

        Assert.Contains(socket, error, StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<LibvirtDisconnectedException>(() => domain.ListAgentDevicesAsync(CancellationToken.None));
        Assert.Contains("the agent retries and reconciles when it is back", e.Message, StringComparison.Ordinal);
        Assert.False(connection.IsConnected);
    }

    [Fact]
    public async Task ProbeAllAsync_LibvirtDomain_StateUriAndAgentDevices()
    {
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using LibvirtConnection connection = await ConnectAsync(fixture.Libvirtd.Uri);
        using var domain = new LibvirtDomain("winxp", fixture.Domain, connection);
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, false, "probe", null, null, out BlockAttachRequest? request, out _));
        await domain.AttachAsync(request, CancellationToken.None).WaitAsync(s_timeout);
        try
        {
            VmStatus[] statuses = await KvmUdevAgent.Core.Vms.VmRegistry.ProbeAllAsync(
            [
                new Core.Configuration.VmConfig { Name = "virt", Libvirt = fixture.Domain, Uri = fixture.Libvirtd.Uri },
                new Core.Configuration.VmConfig { Name = "gone", Libvirt = "x", Uri = "qemu:///system?socket=/nonexistent/sock" },
            ], TimeSpan.FromSeconds(10), CancellationToken.None).WaitAsync(s_timeout);

            VmStatus up = statuses[0];
            Assert.True(up.Reachable, up.Error);
            Assert.Equal(("paused", fixture.Libvirtd.Uri, fixture.Domain), (up.State, up.Uri, up.Domain));
            Assert.Equal([new AgentDevice(request.Id, "usb-storage") { Drive = loop.DevicePath }], up.Devices);
            Assert.False(statuses[1].Reachable);
            Assert.Contains("/nonexistent/sock", statuses[1].Error, StringComparison.Ordinal);
        }
        finally
        {
            await domain.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout);
        }
    }

    private static async Task<LibvirtConnection> ConnectAsync(string uri, LibvirtOptions? options = null)
    {
        var connection = new LibvirtConnection(uri, options);
        connection.Start();
        await connection.WaitConnectedAsync(CancellationToken.None).WaitAsync(s_timeout);
        return connection;
    }

    private async Task<XElement> AgentDiskAsync(string id)
    {
        XDocument live = XDocument.Parse(await fixture.Libvirtd.LiveXmlAsync(fixture.Domain));
        return Assert.Single(live.Root!.Element("devices")!.Elements("disk"), d => (string?)d.Element("alias")?.Attribute("name") == "ua-" + id);
    }

    /// <summary>libvirt notes every taint (e.g. <c>custom-monitor</c> after a <c>qemu-monitor-command</c>) in the domain's log.</summary>
    private void AssertNotTainted(string name)
    {
        string log = fixture.Libvirtd.DomainLog(name);
        Assert.Contains("qemu-system-x86_64", log, StringComparison.Ordinal);
        Assert.DoesNotContain("tainted", log, StringComparison.Ordinal);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe)
        where T : class
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    private static UsbId Id(string text) => UsbId.TryParse(text, out UsbId id, out _) ? id : throw new ArgumentException(text);
}
