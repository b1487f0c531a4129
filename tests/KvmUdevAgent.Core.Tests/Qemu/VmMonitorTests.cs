using System.Threading.Channels;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>A monitor kept connected across QEMU restarts, with the reconcile hooked to "came back".</summary>
[Collection(QemuTestGroup.Name)]
public sealed class VmMonitorTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private static readonly VmMonitorOptions s_fastRetry = new()
    {
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private static UsbHostDevice SeedDrive()
    {
        Assert.True(UsbHostDevice.TryCreate(2, "1.4", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? device, out string? reason), reason);
        return device;
    }

    /// <summary>A VmMonitor with the reconciler hooked, and a channel that gets each reconcile's result.</summary>
    private static (VmMonitor Monitor, ChannelReader<ReconcileResult> Reconciled) Create(MonitorEndpoint endpoint, MonitorProtocol protocol, IReadOnlyCollection<AttachRequest> desired)
    {
        var monitor = new VmMonitor("winxp", endpoint, protocol, s_fastRetry);
        var reconciled = Channel.CreateUnbounded<ReconcileResult>();
        monitor.OnCameBack(async (m, cancellationToken) =>
            await reconciled.Writer.WriteAsync(await VmReconciler.ReconcileAsync(m.Name, m, desired, cancellationToken), cancellationToken));
        return (monitor, reconciled.Reader);
    }

    [Theory]
    [InlineData("qmp-unix")]
    [InlineData("hmp-tcp")]
    public async Task QemuRestarted_DeviceAttachedAgainWithoutAnyEvent(string monitorKind)
    {
        bool qmp = monitorKind == "qmp-unix";
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { Qmp = qmp, HmpTcp = !qmp });
        UsbHostDevice drive = SeedDrive();
        MonitorEndpoint endpoint = qmp ? MonitorEndpoint.Unix(qemu.QmpSocket!) : MonitorEndpoint.Tcp("127.0.0.1", qemu.HmpTcpPort);
        (VmMonitor monitor, ChannelReader<ReconcileResult> reconciled) = Create(endpoint, MonitorProtocol.Auto, [drive]);
        await using (monitor)
        {
            monitor.Start();
            ReconcileResult first = await reconciled.ReadAsync().AsTask().WaitAsync(s_timeout);
            Assert.Equal([drive.Id], first.Attached);
            Assert.Contains((await monitor.ListAgentDevicesAsync(CancellationToken.None)).Devices, d => d.Id == drive.Id && d.HostPort == "1.4");

            int firstPid = qemu.Pid;
            await qemu.RestartAsync();
            Assert.NotEqual(firstPid, qemu.Pid);

            ReconcileResult second = await reconciled.ReadAsync().AsTask().WaitAsync(s_timeout);
            Assert.Equal([drive.Id], second.Attached);
            Assert.Equal(2, monitor.ConnectCount);
            AgentDevice back = Assert.Single((await monitor.ListAgentDevicesAsync(CancellationToken.None)).Devices);
            Assert.Equal(new AgentDevice(drive.Id, "usb-host") { HostBus = 2, HostPort = "1.4", VendorId = "058f", ProductId = "6387" }, back);
        }
    }

    [Fact]
    public async Task MonitorAbsentAtStart_DeviceAttachedAsSoonAsItAppears()
    {
        using QemuProcess qemu = QemuProcess.Prepare(new QemuOptions { Qmp = false, HmpTcp = true });
        UsbHostDevice drive = SeedDrive();
        (VmMonitor monitor, ChannelReader<ReconcileResult> reconciled) = Create(MonitorEndpoint.Tcp("127.0.0.1", qemu.HmpTcpPort), MonitorProtocol.Hmp, [drive]);
        await using (monitor)
        {
            monitor.Start();
            Assert.False(monitor.IsConnected);
            await Assert.ThrowsAsync<MonitorDisconnectedException>(() => monitor.ListAgentDevicesAsync(CancellationToken.None));

            await qemu.LaunchAsync();

            ReconcileResult result = await reconciled.ReadAsync().AsTask().WaitAsync(s_timeout);
            Assert.Equal([drive.Id], result.Attached);
            Assert.Equal(MonitorProtocol.Hmp, monitor.Protocol);
            Assert.Contains((await monitor.ListAgentDevicesAsync(CancellationToken.None)).Devices, d => d.Id == drive.Id && d.HostBus == 2 && d.HostPort == "1.4");
        }
    }
}
