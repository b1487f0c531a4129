using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>One booted test guest for a whole test class (booting one takes seconds under TCG).</summary>
public abstract class GuestFixture : IAsyncLifetime
{
    private readonly MonitorProtocol _protocol;

    private protected GuestFixture(MonitorProtocol protocol) => _protocol = protocol;

    internal LinuxGuest Guest { get; private set; } = null!;

    public async Task InitializeAsync() => Guest = await LinuxGuest.StartAsync(_protocol);

    public async Task DisposeAsync()
    {
        if (Guest is not null)
        {
            await Guest.DisposeAsync();
        }
    }
}
