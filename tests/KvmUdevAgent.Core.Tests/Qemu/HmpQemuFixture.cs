namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>One paused q35 QEMU with HMP on a unix socket, on TCP (as in the seed) and on telnet, QMP for cross-checks, and a loop device.</summary>
public sealed class HmpQemuFixture : IAsyncLifetime
{
    public QemuProcess Qemu { get; private set; } = null!;

    public Netns.LoopDevice Loop { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Loop = await Netns.LoopDevice.CreateAsync(ext4Label: "kuaqemu");
        Qemu = await QemuProcess.StartAsync(new QemuOptions { Qmp = true, HmpUnix = true, HmpTcp = true, HmpTelnet = true, PcieRootPorts = 1 });
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
