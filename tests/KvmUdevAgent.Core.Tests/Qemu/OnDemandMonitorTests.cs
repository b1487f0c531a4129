using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>
/// <c>connection: on-demand</c> against a real QEMU whose only QMP socket another client holds:
/// the agent waits for its turn within the busy budget, then fails with a line that says why.
/// </summary>
[Collection(QemuTestGroup.Name)]
public sealed class OnDemandMonitorTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private static UsbHostDevice Drive()
    {
        Assert.True(UsbHostDevice.TryCreate(2, "1.4", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? device, out string? reason), reason);
        return device;
    }

    private static VmMonitor Create(QemuProcess qemu, TimeSpan busyTimeout) =>
        new("shared", MonitorEndpoint.Unix(qemu.QmpSocket!), MonitorProtocol.Qmp, new VmMonitorOptions
        {
            Connection = VmConnection.OnDemand,
            BusyTimeout = busyTimeout,
            ProbeInterval = TimeSpan.FromMinutes(10),
        });

    private static Task<IMonitorConnection> HoldAsync(QemuProcess qemu) =>
        MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(qemu.QmpSocket!), MonitorProtocol.Qmp, s_timeout, null, CancellationToken.None);

    [Fact]
    public async Task AttachAsync_AnotherClientHoldsTheMonitorThroughout_FailsBusyAndSaysWhy()
    {
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions());
        await using IMonitorConnection person = await HoldAsync(qemu);
        await using VmMonitor monitor = Create(qemu, TimeSpan.FromMilliseconds(500));

        MonitorBusyException e = await Assert.ThrowsAsync<MonitorBusyException>(() => monitor.AttachAsync(Drive(), CancellationToken.None).WaitAsync(s_timeout));

        Assert.StartsWith("The monitor of VM 'shared' (unix:" + qemu.QmpSocket + ") stayed busy for 0.5 s (", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("): another client holds it, and QEMU serves one client per monitor. The next probe retries.", e.Message, StringComparison.Ordinal);
        Assert.Empty((await new MonitorCommands(person).ListAgentDevicesAsync(CancellationToken.None)).Devices);
    }

    [Fact]
    public async Task AttachAsync_AnotherClientLeavesWithinTheBudget_AttachedAndMonitorFreeAgain()
    {
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions());
        IMonitorConnection person = await HoldAsync(qemu);
        await using VmMonitor monitor = Create(qemu, TimeSpan.FromSeconds(10));

        Task<AttachResult> attach = monitor.AttachAsync(Drive(), CancellationToken.None);
        await Task.Delay(300);
        Assert.False(attach.IsCompleted, "the attach did not wait for the other client");
        await person.DisposeAsync();

        Assert.Equal(AttachResult.Attached, await attach.WaitAsync(s_timeout));
        // The agent let go at once: a new client is served.
        await using IMonitorConnection next = await HoldAsync(qemu);
        Assert.Equal([Drive().Id], (await new MonitorCommands(next).ListAgentDevicesAsync(CancellationToken.None)).Devices.Select(d => d.Id));
    }
}
