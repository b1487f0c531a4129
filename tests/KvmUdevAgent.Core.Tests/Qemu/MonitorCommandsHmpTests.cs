using System.Text.RegularExpressions;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>The same operations over HMP (unix, TCP as in the seed, telnet), checked with <c>info usb</c> and through QMP.</summary>
[Collection(QemuTestGroup.Name)]
public sealed partial class MonitorCommandsHmpTests : IClassFixture<HmpQemuFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly HmpQemuFixture _fixture;

    public MonitorCommandsHmpTests(HmpQemuFixture fixture)
    {
        _fixture = fixture;
    }

    [GeneratedRegex("^[A-Za-z0-9_./=, -]+\n$")]
    private static partial Regex SafeHmpLine();

    private MonitorEndpoint Endpoint(string kind) => kind switch
    {
        "unix" => MonitorEndpoint.Unix(_fixture.Qemu.HmpSocket!),
        "tcp" => MonitorEndpoint.Tcp("127.0.0.1", _fixture.Qemu.HmpTcpPort),
        "telnet" => MonitorEndpoint.Telnet("127.0.0.1", _fixture.Qemu.HmpTelnetPort),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private async Task<HmpConnection> ConnectHmpAsync(string kind, Func<Stream, Stream>? wrap = null)
    {
        IMonitorConnection connection = await MonitorConnector.ConnectAsync(Endpoint(kind), MonitorProtocol.Auto, TimeSpan.FromSeconds(5), wrap, CancellationToken.None).WaitAsync(s_timeout);
        return Assert.IsType<HmpConnection>(connection);
    }

    private async Task<QmpConnection> ConnectQmpAsync() =>
        Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Qmp, TimeSpan.FromSeconds(5), null, CancellationToken.None).WaitAsync(s_timeout));

    [Theory]
    [InlineData("unix", "4.1")]
    [InlineData("tcp", "4.2")]
    [InlineData("telnet", "4.3")]
    public async Task AttachUsbHostAsync_OverHmp_InfoUsbAndQomShowTheDevice(string kind, string port)
    {
        await using HmpConnection hmp = await ConnectHmpAsync(kind);
        await using QmpConnection qmp = await ConnectQmpAsync();
        Assert.Equal(MonitorProtocol.Hmp, hmp.Protocol);
        Assert.True(hmp.Version.Major >= 7);
        var commands = new MonitorCommands(hmp);
        Assert.True(UsbHostDevice.TryCreate(1, port, new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? device, out string? reason), reason);

        Assert.Equal(AttachResult.Attached, await commands.AttachUsbHostAsync(device, CancellationToken.None));
        Assert.Equal(AttachResult.AlreadyPresent, await commands.AttachUsbHostAsync(device, CancellationToken.None));

        IReadOnlyList<string> infoUsb = await hmp.ExecuteAsync(new HmpLine("info").Word("usb"), CancellationToken.None);
        Assert.Contains(infoUsb, line => line.EndsWith("ID: " + device.Id, StringComparison.Ordinal));
        string path = "/machine/peripheral/" + device.Id;
        Assert.Equal(port, await qmp.QomGetAsync(path, "hostport", CancellationToken.None));
        Assert.Equal("1", await qmp.QomGetAsync(path, "hostbus", CancellationToken.None));
        Assert.Equal("1423", await qmp.QomGetAsync(path, "vendorid", CancellationToken.None));
        Assert.Equal("25479", await qmp.QomGetAsync(path, "productid", CancellationToken.None));
        AgentDevice listed = Assert.Single((await commands.ListAgentDevicesAsync(CancellationToken.None)).Devices, d => d.Id == device.Id);
        Assert.Equal(new AgentDevice(device.Id, "usb-host") { HostBus = 1, HostPort = port, VendorId = "058f", ProductId = "6387" }, listed);

        Assert.Equal(DetachResult.Detached, await commands.DetachAsync(device.Id, CancellationToken.None));
        Assert.Equal(DetachResult.AlreadyGone, await commands.DetachAsync(device.Id, CancellationToken.None));
        infoUsb = await hmp.ExecuteAsync(new HmpLine("info").Word("usb"), CancellationToken.None);
        Assert.DoesNotContain(infoUsb, line => line.Contains(device.Id, StringComparison.Ordinal));
        Assert.Null(await qmp.QomGetAsync(path, "type", CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_UsbStorageOverHmp_DriveAddThenDetachRemovesDeviceAndDrive()
    {
        await using HmpConnection hmp = await ConnectHmpAsync("tcp");
        await using QmpConnection qmp = await ConnectQmpAsync();
        var commands = new MonitorCommands(hmp);
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, "hmp:usb-storage", null, null, out BlockAttachRequest? request, out string? reason), reason);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));
        Assert.Equal("usb-storage", await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "type", CancellationToken.None));
        Assert.Contains(request.NodeName, await hmp.ListBlockNodesAsync(CancellationToken.None));

        Assert.Equal(DetachResult.Detached, await commands.DetachAsync(request.Id, CancellationToken.None));
        Assert.Null(await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "type", CancellationToken.None));
        Assert.DoesNotContain(request.NodeName, await hmp.ListBlockNodesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_VirtioBlkOverHmp_PendingUnplugStillReleasesTheDrive()
    {
        await using HmpConnection hmp = await ConnectHmpAsync("unix");
        var commands = new MonitorCommands(hmp, detachTimeout: TimeSpan.FromMilliseconds(200));
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.VirtioBlk, readOnly: true, "hmp:virtio", null, null, out BlockAttachRequest? request, out string? reason), reason);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));
        Assert.Equal("virtio-blk-pci", await hmp.QomGetAsync("/machine/peripheral/" + request.Id, "type", CancellationToken.None));

        // The paused guest never acknowledges; HMP's drive_del lets go of the host device anyway.
        Assert.Equal(DetachResult.Pending, await commands.DetachAsync(request.Id, CancellationToken.None));
        Assert.DoesNotContain(request.NodeName, await hmp.ListBlockNodesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AttachBlockAsync_HostileSerialOverHmp_NeverSent()
    {
        const string hostile = "576B63C4\ndevice_del vm0;\"quit\"";
        RecordingStream? recording = null;
        await using HmpConnection hmp = await ConnectHmpAsync("tcp", s => recording = new RecordingStream(s));
        var commands = new MonitorCommands(hmp);
        Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, hostile, hostile, null, out BlockAttachRequest? request, out string? reason), reason);
        try
        {
            Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));
        }
        finally
        {
            await commands.DetachAsync(request.Id, CancellationToken.None);
        }

        string sent = recording!.WrittenText;
        Assert.DoesNotContain("576B63C4", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("serial", sent, StringComparison.Ordinal);
        foreach (string line in sent.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.Matches(SafeHmpLine(), line + "\n");
        }
    }

    [Fact]
    public async Task Connect_Telnet_RefusesEveryOptionQemuOffers()
    {
        RecordingStream? recording = null;
        await using HmpConnection hmp = await ConnectHmpAsync("telnet", s => recording = new RecordingStream(s));
        Assert.Equal(new QemuVersion(hmp.Version.Major, hmp.Version.Minor, hmp.Version.Micro, null), await new MonitorCommands(hmp).QueryVersionAsync(CancellationToken.None));

        // QEMU offers WILL ECHO, WILL SUPPRESS-GO-AHEAD, WILL BINARY and DO BINARY; each is refused
        // (IAC DONT / IAC WONT) and nothing else was sent.
        Assert.Equal(new byte[] { 255, 254, 1, 255, 254, 3, 255, 254, 0, 255, 252, 0 }, recording!.Written);
        IReadOnlyList<string> lines = await hmp.ExecuteAsync(new HmpLine("info").Word("version"), CancellationToken.None);
        Assert.StartsWith(hmp.Version.Major + "." + hmp.Version.Minor + "." + hmp.Version.Micro, Assert.Single(lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_QemuStopped_TimesOutAndClosesTheOutOfStepSession()
    {
        await using HmpConnection hmp = Assert.IsType<HmpConnection>(await MonitorConnector.ConnectAsync(Endpoint("unix"), MonitorProtocol.Hmp, TimeSpan.FromSeconds(1), null, CancellationToken.None));
        Assert.Equal(0, Tmds.Linux.LibC.kill(_fixture.Qemu.Pid, Tmds.Linux.LibC.SIGSTOP));
        try
        {
            await Assert.ThrowsAsync<MonitorTimeoutException>(() => hmp.QomListAsync("/machine/peripheral", CancellationToken.None));
        }
        finally
        {
            Assert.Equal(0, Tmds.Linux.LibC.kill(_fixture.Qemu.Pid, Tmds.Linux.LibC.SIGCONT));
        }

        await hmp.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<MonitorDisconnectedException>(() => hmp.QomListAsync("/machine/peripheral", CancellationToken.None));
    }

    [Fact]
    public async Task Connect_ForcedQmpOnHmpSocket_FailsNamingBothProtocols()
    {
        MonitorProtocolException error = await Assert.ThrowsAsync<MonitorProtocolException>(() =>
            MonitorConnector.ConnectAsync(Endpoint("unix"), MonitorProtocol.Qmp, TimeSpan.FromSeconds(5), null, CancellationToken.None));
        Assert.StartsWith("The config says protocol qmp for unix:", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("but QEMU greets with hmp; fix 'protocol:' or the VM's -monitor/-qmp option.", error.Message, StringComparison.Ordinal);
    }
}
