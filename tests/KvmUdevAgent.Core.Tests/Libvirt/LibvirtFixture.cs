namespace KvmUdevAgent.Core.Tests.Libvirt;

/// <summary>One private libvirtd (see <see cref="LibvirtdProcess"/>) with one running TCG domain, shared by the libvirt tests.</summary>
public sealed class LibvirtFixture : IAsyncLifetime
{
    public LibvirtdProcess Libvirtd { get; private set; } = null!;

    /// <summary>A running (paused) q35 domain with a qemu-xhci controller.</summary>
    public string Domain { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Libvirtd = await LibvirtdProcess.StartAsync();
        Domain = await Libvirtd.CreateDomainAsync();
    }

    public async Task DisposeAsync()
    {
        if (Libvirtd is not null)
        {
            await Libvirtd.DisposeAsync();
        }
    }
}
