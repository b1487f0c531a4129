using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>The seed's machine type: QEMU's default <c>pc</c>, which hotplugs PCI devices on <c>pci.0</c>.</summary>
[Collection(QemuTestGroup.Name)]
public sealed class MonitorCommandsPcMachineTests
{
    [Fact]
    public async Task AttachBlockAsync_VirtioBlkOnPc_GoesOnPci0()
    {
        await using Netns.LoopDevice loop = await Netns.LoopDevice.CreateAsync(ext4Label: "kuapc");
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { Machine = "pc", Qmp = true });
        await using QmpConnection qmp = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(qemu.QmpSocket!), MonitorProtocol.Auto, TimeSpan.FromSeconds(5), null, CancellationToken.None));
        var commands = new MonitorCommands(qmp, detachTimeout: TimeSpan.FromMilliseconds(300));
        Assert.True(BlockAttachRequest.TryCreate(loop.DevicePath, BlockDeviceModel.VirtioBlk, readOnly: false, "pc:virtio", null, null, out BlockAttachRequest? request, out string? reason), reason);

        Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None));
        Assert.EndsWith("/pci.0", await qmp.QomGetAsync("/machine/peripheral/" + request.Id, "parent_bus", CancellationToken.None), StringComparison.Ordinal);

        // ACPI hotplug on pc also waits for the (paused) guest; a reset finishes it.
        Assert.Equal(DetachResult.Pending, await commands.DetachAsync(request.Id, CancellationToken.None));
        await qmp.ExecuteAsync("system_reset", null, CancellationToken.None);
        await commands.WhenDetachFinishedAsync(request.Id).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty((await commands.ListAgentDevicesAsync(CancellationToken.None)).BlockNodes);
    }
}
