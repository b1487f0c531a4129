using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

[Collection(QemuTestGroup.Name)]
public sealed class VmReconcilerTests
{
    [Fact]
    public async Task ReconcileAsync_MixedState_AttachesMissingDetachesStaleAndLeavesTheVmsOwnDevices()
    {
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { Qmp = true });
        await using QmpConnection qmp = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(qemu.QmpSocket!), MonitorProtocol.Auto, TimeSpan.FromSeconds(5), null, CancellationToken.None));
        var commands = new MonitorCommands(qmp);
        Assert.True(UsbHostDevice.TryCreate(1, "1.1", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? wantedPresent, out _));
        Assert.True(UsbHostDevice.TryCreate(1, "1.2", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? wantedMissing, out _));
        Assert.True(UsbHostDevice.TryCreate(1, "1.3", new UsbId(0x1234), new UsbId(0x5678), out UsbHostDevice? unplugged, out _));
        await commands.AttachUsbHostAsync(wantedPresent, CancellationToken.None);
        await commands.AttachUsbHostAsync(unplugged, CancellationToken.None);
        // The VM's own device, not made by the agent: never touched.
        await qmp.DeviceAddAsync(new QemuDeviceSpec("usb-host", "vm-own-stick", [new("hostbus", QemuValue.Of(1)), new("hostport", QemuValue.Of("1.9"))]), CancellationToken.None);

        ReconcileResult result = await VmReconciler.ReconcileAsync("winxp", commands, [wantedPresent, wantedMissing], CancellationToken.None);

        Assert.Equal([wantedMissing.Id], result.Attached);
        Assert.Equal([unplugged.Id], result.Detached);
        Assert.Equal([wantedPresent.Id], result.Unchanged);
        Assert.Empty(result.Failed);
        List<string> peripherals = [.. (await qmp.QomListAsync("/machine/peripheral", CancellationToken.None)).Where(p => p.ChildType is not null).Select(p => p.Name).Order(StringComparer.Ordinal)];
        Assert.Equal([wantedPresent.Id, wantedMissing.Id, "vm-own-stick", "xhci"], peripherals);

        ReconcileResult again = await VmReconciler.ReconcileAsync("winxp", commands, [wantedPresent, wantedMissing], CancellationToken.None);
        Assert.Empty(again.Attached);
        Assert.Empty(again.Detached);
        Assert.Equal(2, again.Unchanged.Count);
    }
}
