namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>One private rsyslogd shared by a test class (xunit glue around <see cref="RsyslogServer"/>).</summary>
public sealed class RsyslogFixture : IAsyncLifetime
{
    private RsyslogServer? _server;

    public RsyslogServer Server => _server ?? throw new InvalidOperationException("rsyslogd not started");

    public async Task InitializeAsync() => _server = await RsyslogServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
