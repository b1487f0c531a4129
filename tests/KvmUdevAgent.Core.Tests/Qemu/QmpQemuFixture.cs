namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>One paused q35 QEMU with a QMP unix socket and two free <c>pcie-root-port</c>s, plus a loop device, per test class.</summary>
public sealed class QmpQemuFixture : IAsyncLifetime
{
    public QemuProcess Qemu { get; private set; } = null!;

    public Netns.LoopDevice Loop { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Loop = await Netns.LoopDevice.CreateAsync(ext4Label: "kuaqemu");
        Qemu = await QemuProcess.StartAsync(new QemuOptions { Qmp = true, PcieRootPorts = 2 });
    }

    public async Task DisposeAsync()
    {
        try
        {
            Qemu?.Dispose();
        }
        finally
        {
            if (Loop is not null)
            {
                await Loop.DisposeAsync();
            }
        }
    }
}
