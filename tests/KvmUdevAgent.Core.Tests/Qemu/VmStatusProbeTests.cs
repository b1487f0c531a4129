using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

[Collection(QemuTestGroup.Name)]
public sealed class VmStatusProbeTests : IClassFixture<QmpQemuFixture>
{
    private readonly QmpQemuFixture _fixture;

    public VmStatusProbeTests(QmpQemuFixture fixture)
    {
        _fixture = fixture;
    }

    [Fact]
    public async Task ProbeAllAsync_OneUpOneDown_ReportsDevicesAndWhyTheOtherFailed()
    {
        Assert.True(UsbHostDevice.TryCreate(2, "1.4", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? drive, out _));
        await using (IMonitorConnection connection = await MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Auto, TimeSpan.FromSeconds(5), null, CancellationToken.None))
        {
            await new MonitorCommands(connection).AttachUsbHostAsync(drive, CancellationToken.None);
        }

        VmStatus[] statuses = await KvmUdevAgent.Core.Vms.VmRegistry.ProbeAllAsync(
        [
            new VmConfig { Name = "winxp", Monitor = "unix:" + _fixture.Qemu.QmpSocket },
            new VmConfig { Name = "centos", Monitor = "unix:" + Path.Combine(_fixture.Qemu.TempDir, "absent.sock"), Protocol = MonitorProtocol.Hmp },
        ], TimeSpan.FromSeconds(5), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        VmStatus up = statuses[0];
        Assert.True(up.Reachable);
        Assert.Equal("qmp", up.Protocol);
        Assert.StartsWith("7.", up.QemuVersion, StringComparison.Ordinal);
        Assert.Equal([new AgentDevice(drive.Id, "usb-host") { HostBus = 2, HostPort = "1.4", VendorId = "058f", ProductId = "6387" }], up.Devices);
        VmStatus down = statuses[1];
        Assert.False(down.Reachable);
        Assert.Equal("hmp", down.ConfiguredProtocol);
        Assert.Equal("no such host or socket (is the VM running?)", down.Error);
    }

    [Fact]
    public void FormatText_UpAndDown_PrintsOneLinePerVmAndDevice()
    {
        VmStatus[] statuses =
        [
            new VmStatus
            {
                Name = "winxp", Monitor = "unix:/run/qemu/winxp.qmp", ConfiguredProtocol = "auto", Protocol = "qmp", Reachable = true, QemuVersion = "7.2.22",
                Devices = [new AgentDevice("kua-u2-1.4-058f6387", "usb-host") { HostBus = 2, HostPort = "1.4", VendorId = "058f", ProductId = "6387" },
                           new AgentDevice("kua-b0123456789ab", "virtio-blk-pci") { Drive = "" }],
            },
            new VmStatus { Name = "centos", Monitor = "tcp:127.0.0.1:4446", ConfiguredProtocol = "hmp", Error = "connection refused (is the VM running?)" },
        ];
        Assert.Equal(
            "winxp  unix:/run/qemu/winxp.qmp  qmp  QEMU 7.2.22\n" +
            "  kua-u2-1.4-058f6387  usb-host  bus 2 port 1.4  058f:6387\n" +
            "  kua-b0123456789ab  virtio-blk-pci  drive (released)\n" +
            "centos  tcp:127.0.0.1:4446  unreachable: connection refused (is the VM running?)\n",
            VmStatusProbe.FormatText(statuses));
        Assert.Contains("\"host_port\": \"1.4\"", VmStatusProbe.ToJson(statuses), StringComparison.Ordinal);
    }
}
