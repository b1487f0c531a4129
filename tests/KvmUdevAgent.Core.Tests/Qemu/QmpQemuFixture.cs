namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>One paused q35 QEMU with a QMP unix socket and two free <c>pcie-root-port</c>s, plus a loop device, per test class.</summary>
public sealed class QmpQemuFixture : IAsyncLifetime
{
    public QemuProcess Qemu { get; private set; } = null!;

    public LoopDevice Loop { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Loop = LoopDevice.Create();
        Qemu = await QemuProcess.StartAsync(new QemuOptions { Qmp = true, PcieRootPorts = 2 });
    }

    public Task DisposeAsync()
    {
        try
        {
            Qemu?.Dispose();
        }
        finally
        {
            Loop?.Dispose();
        }

        return Task.CompletedTask;
    }
}
