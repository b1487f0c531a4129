using System.Text;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>What a guest is shown for a drive (removable, serial), read back from QEMU with <c>qom-get</c>, over QMP and HMP.</summary>
public sealed class GuestViewTests : IClassFixture<HmpQemuFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private readonly HmpQemuFixture _fixture;

    public GuestViewTests(HmpQemuFixture fixture)
    {
        _fixture = fixture;
    }

    // QEMU serves one client per monitor: the test's own checks go through the support's socket.
    private async Task<QmpConnection> ConnectCheckAsync() =>
        Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(_fixture.Qemu.ReadySocket), MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None).WaitAsync(s_timeout));

    private async Task<IMonitorConnection> ConnectAsync(MonitorProtocol protocol, Func<Stream, Stream>? wrap = null) =>
        await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(protocol == MonitorProtocol.Qmp ? _fixture.Qemu.QmpSocket! : _fixture.Qemu.HmpSocket!), protocol, TimeSpan.FromSeconds(10), wrap, CancellationToken.None).WaitAsync(s_timeout);

    private BlockAttachRequest Request(string serial, bool? hostRemovable, bool? forced, BlockDeviceModel model = BlockDeviceModel.UsbStorage)
    {
        var drive = new DeviceIdentity { Serial = serial, DevNode = _fixture.Loop.DevicePath, Removable = hostRemovable };
        bool removable = RuleSet.PlanAttach("test", "vm", model == BlockDeviceModel.UsbStorage ? AttachKind.UsbStorage : AttachKind.VirtioBlk, readOnly: true, forced, drive).Removable == true;
        Assert.True(BlockAttachRequest.TryCreate(drive, model, readOnly: true, removable, pciBus: null, out BlockAttachRequest? request, out string? reason), reason);
        return request;
    }

    private static async Task<string?> QomAsync(QmpConnection check, string id, string property) =>
        await check.QomGetAsync("/machine/peripheral/" + id, property, CancellationToken.None).WaitAsync(s_timeout);

    private static async Task DetachAsync(MonitorCommands commands, string id)
    {
        Assert.Equal(DetachResult.Detached, await commands.DetachAsync(id, CancellationToken.None).WaitAsync(s_timeout));
        await commands.WhenDetachFinishedAsync(id).WaitAsync(s_timeout);
    }

    [Theory]
    [InlineData(MonitorProtocol.Qmp, true, null, "true")]
    [InlineData(MonitorProtocol.Qmp, false, null, "false")]
    [InlineData(MonitorProtocol.Qmp, false, true, "true")]
    [InlineData(MonitorProtocol.Hmp, true, null, "true")]
    [InlineData(MonitorProtocol.Hmp, true, false, "false")]
    [InlineData(MonitorProtocol.Hmp, false, true, "true")]
    public async Task AttachBlockAsync_UsbStorage_QemuShowsRemovableAndDriveSerial(MonitorProtocol protocol, bool hostRemovable, bool? forced, string expectedRemovable)
    {
        await using QmpConnection check = await ConnectCheckAsync();
        await using IMonitorConnection connection = await ConnectAsync(protocol);
        var commands = new MonitorCommands(connection);
        // A serial of its own per case: the id (and node) differ, so no case waits for another's cleanup.
        string serial = $"SN{protocol}{hostRemovable}{forced}";
        BlockAttachRequest request = Request(serial, hostRemovable, forced);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None).WaitAsync(s_timeout));
        try
        {
            Assert.Equal(expectedRemovable, await QomAsync(check, request.Id, "removable"));
            Assert.Equal(serial, await QomAsync(check, request.Id, "serial"));
        }
        finally
        {
            await DetachAsync(commands, request.Id);
        }
    }

    [Fact]
    public async Task AttachBlockAsync_HostileSerialOverHmp_NeverOnTheLineQemuKeepsItsOwn()
    {
        string hostile = "AB\"CD,removable=off\n" + new string('x', 300);
        await using QmpConnection check = await ConnectCheckAsync();
        RecordingStream? recording = null;
        await using IMonitorConnection connection = await ConnectAsync(MonitorProtocol.Hmp, s => recording = new RecordingStream(s));
        var commands = new MonitorCommands(connection);
        BlockAttachRequest request = Request(hostile, hostRemovable: true, forced: null);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None).WaitAsync(s_timeout));
        try
        {
            Assert.Equal(string.Empty, await QomAsync(check, request.Id, "serial") ?? string.Empty);
            Assert.Equal("true", await QomAsync(check, request.Id, "removable"));
        }
        finally
        {
            await DetachAsync(commands, request.Id);
        }

        string written = Encoding.ASCII.GetString(recording!.Written);
        Assert.DoesNotContain("serial", written, StringComparison.Ordinal);
        Assert.DoesNotContain("AB", written, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxx", written, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttachBlockAsync_HostileSerialOverQmp_QemuShowsItVerbatim()
    {
        string hostile = "QM\"CD,removable=off\n" + new string('x', 300);
        await using QmpConnection check = await ConnectCheckAsync();
        await using IMonitorConnection connection = await ConnectAsync(MonitorProtocol.Qmp);
        var commands = new MonitorCommands(connection);
        BlockAttachRequest request = Request(hostile, hostRemovable: true, forced: null);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None).WaitAsync(s_timeout));
        try
        {
            Assert.Equal(hostile, await QomAsync(check, request.Id, "serial"));
            Assert.Equal("true", await QomAsync(check, request.Id, "removable"));
        }
        finally
        {
            await DetachAsync(commands, request.Id);
        }
    }

    [Theory]
    [InlineData(MonitorProtocol.Qmp)]
    [InlineData(MonitorProtocol.Hmp)]
    public async Task AttachBlockAsync_VirtioBlk_QemuShowsDriveSerial(MonitorProtocol protocol)
    {
        await using QmpConnection check = await ConnectCheckAsync();
        await using IMonitorConnection connection = await ConnectAsync(protocol);
        var commands = new MonitorCommands(connection, detachTimeout: TimeSpan.FromMilliseconds(300));
        string serial = "VIRTIO" + protocol;
        BlockAttachRequest request = Request(serial, hostRemovable: true, forced: null, BlockDeviceModel.VirtioBlk);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None).WaitAsync(s_timeout));
        Assert.Equal(serial, await QomAsync(check, request.Id, "serial"));
        // A paused guest never acks a PCI unplug; a reset finishes it.
        await commands.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout);
        await check.ExecuteAsync("system_reset", null, CancellationToken.None).WaitAsync(s_timeout);
        await commands.WhenDetachFinishedAsync(request.Id).WaitAsync(s_timeout);
        Assert.Null(await QomAsync(check, request.Id, "type"));
    }
}
