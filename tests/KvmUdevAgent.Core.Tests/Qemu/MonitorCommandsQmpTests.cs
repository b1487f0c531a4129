using System.Text;
using System.Text.Json;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>Attach, detach and list over QMP on a unix socket, checked through QEMU's own answers.</summary>
[Collection(QemuTestGroup.Name)]
public sealed class MonitorCommandsQmpTests : IClassFixture<QmpQemuFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly QmpQemuFixture _fixture;

    public MonitorCommandsQmpTests(QmpQemuFixture fixture)
    {
        _fixture = fixture;
    }

    private async Task<QmpConnection> ConnectAsync(Func<Stream, Stream>? wrap = null)
    {
        IMonitorConnection connection = await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Auto, TimeSpan.FromSeconds(5), wrap, CancellationToken.None).WaitAsync(s_timeout);
        return Assert.IsType<QmpConnection>(connection);
    }

    private static UsbHostDevice Usb(string port, ushort vendor = 0x058f, ushort product = 0x6387)
    {
        Assert.True(UsbHostDevice.TryCreate(1, port, new UsbId(vendor), new UsbId(product), out UsbHostDevice? device, out string? reason), reason);
        return device;
    }

    private static async Task<List<string>> PeripheralsAsync(QmpConnection qmp) =>
        [.. (await qmp.QomListAsync("/machine/peripheral", CancellationToken.None)).Select(p => p.Name)];

    [Fact]
    public async Task Connect_QmpSocket_DetectsQmpAndVersion()
    {
        await using QmpConnection qmp = await ConnectAsync();
        QemuVersion reported = await qmp.QueryVersionAsync(CancellationToken.None);
        Assert.Equal(MonitorProtocol.Qmp, qmp.Protocol);
        Assert.Equal(reported, qmp.Version);
        Assert.True(reported.Major >= 7);
    }

    [Fact]
    public async Task AttachUsbHostAsync_ByBusAndPort_QemuReportsHostbusHostportVendorProduct()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        UsbHostDevice device = Usb("1.4");

        Assert.Equal(AttachResult.Attached, await commands.AttachUsbHostAsync(device, CancellationToken.None));

        string path = "/machine/peripheral/" + device.Id;
        Assert.Equal("usb-host", await qmp.QomGetAsync(path, "type", CancellationToken.None));
        Assert.Equal("1", await qmp.QomGetAsync(path, "hostbus", CancellationToken.None));
        Assert.Equal("1.4", await qmp.QomGetAsync(path, "hostport", CancellationToken.None));
        Assert.Equal("1423", await qmp.QomGetAsync(path, "vendorid", CancellationToken.None)); // 0x058f
        Assert.Equal("25479", await qmp.QomGetAsync(path, "productid", CancellationToken.None)); // 0x6387
        AgentDevice listed = Assert.Single((await commands.ListAgentDevicesAsync(CancellationToken.None)).Devices, d => d.Id == device.Id);
        Assert.Equal(new AgentDevice(device.Id, "usb-host") { HostBus = 1, HostPort = "1.4", VendorId = "058f", ProductId = "6387" }, listed);

        Assert.Equal(DetachResult.Detached, await commands.DetachAsync(device.Id, CancellationToken.None));
        Assert.DoesNotContain(device.Id, await PeripheralsAsync(qmp));
    }

    [Fact]
    public async Task AttachUsbHostAsync_Twice_SecondIsNoOp()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        UsbHostDevice device = Usb("2.1");
        try
        {
            Assert.Equal(AttachResult.Attached, await commands.AttachUsbHostAsync(device, CancellationToken.None));
            Assert.Equal(AttachResult.AlreadyPresent, await commands.AttachUsbHostAsync(device, CancellationToken.None));
            Assert.Single(await PeripheralsAsync(qmp), id => id == device.Id);
        }
        finally
        {
            await commands.DetachAsync(device.Id, CancellationToken.None);
        }
    }

    [Fact]
    public async Task AttachUsbHostAsync_IdenticalDrivesOnTwoPorts_BothAttachedWithTheirOwnPort()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        UsbHostDevice first = Usb("3.1");
        UsbHostDevice second = Usb("3.2");
        try
        {
            await commands.AttachUsbHostAsync(first, CancellationToken.None);
            await commands.AttachUsbHostAsync(second, CancellationToken.None);
            Assert.NotEqual(first.Id, second.Id);
            Assert.Equal("3.1", await qmp.QomGetAsync("/machine/peripheral/" + first.Id, "hostport", CancellationToken.None));
            Assert.Equal("3.2", await qmp.QomGetAsync("/machine/peripheral/" + second.Id, "hostport", CancellationToken.None));
        }
        finally
        {
            await commands.DetachAsync(first.Id, CancellationToken.None);
            await commands.DetachAsync(second.Id, CancellationToken.None);
        }
    }

    [Fact]
    public async Task DetachAsync_DeviceNotThere_AlreadyGone()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        Assert.Equal(DetachResult.AlreadyGone, await commands.DetachAsync("kua-u9-9.9-00010002", CancellationToken.None));
        Assert.Equal(DetachResult.AlreadyGone, await commands.DetachAsync("kua-b000000000000", CancellationToken.None));
    }

    [Fact]
    public async Task DeviceDelAsync_Missing_IsRecognisedByErrorClass()
    {
        await using QmpConnection qmp = await ConnectAsync();
        QmpException error = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("device_del", w => w.WriteString("id", "kua-nope"), CancellationToken.None));
        Assert.Equal(QmpErrorClasses.DeviceNotFound, error.Class);
        Assert.Equal("device_del", error.Command);
    }

    [Fact]
    public async Task AttachBlockAsync_UsbStorageReadOnly_DetachRemovesDeviceAndNode()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, "test:usb-storage", null, null, out BlockAttachRequest? request, out string? reason), reason);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));
        Assert.Equal("usb-storage", await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "type", CancellationToken.None));
        JsonElement inserted = FindBlockByNode(await qmp.ExecuteAsync("query-block", null, CancellationToken.None), request.NodeName)
            ?? throw new Xunit.Sdk.XunitException("query-block does not show node " + request.NodeName);
        Assert.True(inserted.GetProperty("ro").GetBoolean());
        Assert.Equal(_fixture.Loop.DevicePath, inserted.GetProperty("file").GetString());

        Assert.Equal(DetachResult.Detached, await commands.DetachAsync(request.Id, CancellationToken.None));
        Assert.DoesNotContain(request.Id, await PeripheralsAsync(qmp));
        Assert.Null(FindBlockByNode(await qmp.ExecuteAsync("query-block", null, CancellationToken.None), request.NodeName));
        Assert.DoesNotContain(request.NodeName, await qmp.ListBlockNodesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_VirtioBlkOnQ35_UsesFreeRootPortAndFinishesDetachWhenQemuReportsIt()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp, detachTimeout: TimeSpan.FromMilliseconds(300));
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.VirtioBlk, readOnly: true, "test:virtio", null, null, out BlockAttachRequest? request, out string? reason), reason);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));
        Assert.Equal("virtio-blk-pci", await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "type", CancellationToken.None));
        string bus = (await qmp.QomListAsync("/machine/peripheral/rp1/rp1", CancellationToken.None)).Any(p => p.Name.StartsWith("child[", StringComparison.Ordinal)) ? "rp1" : "rp2";
        Assert.Contains((await qmp.QomListAsync("/machine/peripheral/" + bus + "/" + bus, CancellationToken.None)), p => p.Type == "link<virtio-blk-pci>");
        Assert.NotNull(FindBlockByNode(await qmp.ExecuteAsync("query-block", null, CancellationToken.None), request.NodeName));

        // A paused guest never acknowledges a PCI unplug: the detach says so instead of hanging,
        // and the node stays until QEMU reports the deletion.
        Assert.Equal(DetachResult.Pending, await commands.DetachAsync(request.Id, CancellationToken.None));
        Assert.Contains(request.NodeName, await qmp.ListBlockNodesAsync(CancellationToken.None));
        // Asking again while the guest still holds it is not an error.
        Assert.Equal(DetachResult.Pending, await commands.DetachAsync(request.Id, CancellationToken.None));

        // A reset completes the pending unplug (DEVICE_DELETED); the cleanup then removes the node.
        await qmp.ExecuteAsync("system_reset", null, CancellationToken.None);
        await commands.WhenDetachFinishedAsync(request.Id).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(request.Id, await PeripheralsAsync(qmp));
        Assert.DoesNotContain(request.NodeName, await qmp.ListBlockNodesAsync(CancellationToken.None));
        Assert.Equal(DetachResult.AlreadyGone, await commands.DetachAsync(request.Id, CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_HostileSerial_ReachesQemuOnlyAsEscapedJson()
    {
        const string hostile = "576B\"63C4\n{\"execute\":\"quit\"};device_del x\\";
        RecordingStream? recording = null;
        await using QmpConnection qmp = await ConnectAsync(s => recording = new RecordingStream(s));
        var commands = new MonitorCommands(qmp);
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, hostile, hostile, null, out BlockAttachRequest? request, out string? reason), reason);
        try
        {
            Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));

            // QEMU got exactly the string, as a value.
            Assert.Equal(hostile, await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "serial", CancellationToken.None));
            // Every line sent is one complete JSON command; the serial appears only escaped.
            string sent = recording!.WrittenText;
            string[] lines = sent.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (string line in lines)
            {
                using JsonDocument command = JsonDocument.Parse(line);
                Assert.True(command.RootElement.TryGetProperty("execute", out _), line);
            }

            Assert.DoesNotContain(hostile, sent, StringComparison.Ordinal);
            Assert.DoesNotContain("{\"execute\":\"quit\"}", sent, StringComparison.Ordinal);
            Assert.Contains(JsonEncodedText.Encode(hostile).ToString(), sent, StringComparison.Ordinal);
        }
        finally
        {
            await commands.DetachAsync(request.Id, CancellationToken.None);
        }
    }

    [Fact]
    public async Task AttachBlockAsync_Twice_SecondIsAlreadyPresentAndKeepsTheNode()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, "test:twice", null, null, out BlockAttachRequest? request, out string? reason), reason);
        try
        {
            Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));

            // Both commands of the second attach fail (the node and the device are there already).
            Assert.Equal(AttachResult.AlreadyPresent, await commands.AttachBlockAsync(request, CancellationToken.None));
            Assert.Equal("usb-storage", await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "type", CancellationToken.None));
            Assert.NotNull(FindBlockByNode(await qmp.ExecuteAsync("query-block", null, CancellationToken.None), request.NodeName));
        }
        finally
        {
            await commands.DetachAsync(request.Id, CancellationToken.None);
        }

        Assert.DoesNotContain(request.NodeName, await qmp.ListBlockNodesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_QemuRefusesTheNode_ThrowsItsErrorAndLeavesNothing()
    {
        // A read-only block device opened for writing: QEMU refuses the blockdev-add ("not writable:
        // Permission denied"), then runs the device_add written behind it, which fails too (no such
        // node). The agent tries once more with a descriptor it opened itself (pass_fds: auto),
        // which QEMU refuses the same way.
        await using Netns.LoopDevice loop = await Netns.LoopDevice.CreateAsync(readOnly: true);
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: false, "test:refused-node", null, null, out BlockAttachRequest? request, out string? reason), reason);

        QmpException error = await Assert.ThrowsAsync<QmpException>(() => commands.AttachBlockAsync(request, CancellationToken.None));

        Assert.Equal("blockdev-add", error.Command);
        Assert.DoesNotContain(request.Id, await PeripheralsAsync(qmp));
        Assert.DoesNotContain(request.NodeName, await qmp.ListBlockNodesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_QemuRefusesTheDevice_RemovesTheNodeItAdded()
    {
        // blockdev-add succeeds; the device_add written behind it names a bus QEMU does not have.
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.VirtioBlk, readOnly: true, "test:refused-device", null, "nosuchbus", out BlockAttachRequest? request, out string? reason), reason);

        QmpException error = await Assert.ThrowsAsync<QmpException>(() => commands.AttachBlockAsync(request, CancellationToken.None));

        Assert.Equal("device_add", error.Command);
        Assert.Contains("nosuchbus", error.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(request.Id, await PeripheralsAsync(qmp));
        Assert.DoesNotContain(request.NodeName, await qmp.ListBlockNodesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_NodeLeftByAnEarlierAttempt_DeviceTakesIt()
    {
        await using QmpConnection qmp = await ConnectAsync();
        var commands = new MonitorCommands(qmp);
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, "test:leftover-node", null, null, out BlockAttachRequest? request, out string? reason), reason);
        await qmp.BlockAddAsync(request.NodeName, _fixture.Loop.DevicePath, readOnly: true, CancellationToken.None);
        try
        {
            Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));
            Assert.Equal("usb-storage", await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "type", CancellationToken.None));
            Assert.NotNull(FindBlockByNode(await qmp.ExecuteAsync("query-block", null, CancellationToken.None), request.NodeName));
        }
        finally
        {
            await commands.DetachAsync(request.Id, CancellationToken.None);
        }

        Assert.DoesNotContain(request.NodeName, await qmp.ListBlockNodesAsync(CancellationToken.None));
    }

    private static JsonElement? FindBlockByNode(JsonElement queryBlock, string nodeName)
    {
        foreach (JsonElement block in queryBlock.EnumerateArray())
        {
            if (block.TryGetProperty("inserted", out JsonElement inserted) && inserted.GetProperty("node-name").GetString() == nodeName)
            {
                return inserted;
            }
        }

        return null;
    }
}
