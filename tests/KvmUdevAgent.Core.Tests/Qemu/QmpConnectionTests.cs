using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>Framing-level behaviour of the QMP connection against a real QEMU.</summary>
[Collection(QemuTestGroup.Name)]
public sealed class QmpConnectionTests : IClassFixture<QmpQemuFixture>
{
    private readonly QmpQemuFixture _fixture;

    public QmpConnectionTests(QmpQemuFixture fixture)
    {
        _fixture = fixture;
    }

    [Fact]
    public void ParseGreeting_NotQmp_Throws()
    {
        Assert.Throws<MonitorProtocolException>(() => QmpConnection.ParseGreeting("{\"hello\": 1}"u8));
        Assert.Equal(new QemuVersion(7, 2, 22, "Debian"), QmpConnection.ParseGreeting("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Debian\"}, \"capabilities\": [\"oob\"]}}"u8));
    }

    [Fact]
    public async Task ExecuteAsync_QemuStopped_TimesOutAndStaysUsable()
    {
        await using QmpConnection qmp = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Auto, TimeSpan.FromSeconds(5), null, CancellationToken.None));
        // SIGSTOP the real QEMU: it cannot answer, exactly like a hung VM.
        Assert.Equal(0, Tmds.Linux.LibC.kill(_fixture.Qemu.Pid, Tmds.Linux.LibC.SIGSTOP));
        try
        {
            MonitorTimeoutException timeout = await Assert.ThrowsAsync<MonitorTimeoutException>(() => qmp.ExecuteAsync("query-version", null, TimeSpan.FromMilliseconds(300), CancellationToken.None));
            Assert.Equal("QEMU did not answer query-version within 300 ms.", timeout.Message);
        }
        finally
        {
            Assert.Equal(0, Tmds.Linux.LibC.kill(_fixture.Qemu.Pid, Tmds.Linux.LibC.SIGCONT));
        }

        // The late reply to the timed-out command is dropped by id; the next command gets its own.
        Assert.Equal(qmp.Version, await qmp.QueryVersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ExecuteAsync_QemuKilled_FailsWithDisconnected()
    {
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { Qmp = true });
        await using QmpConnection qmp = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(qemu.QmpSocket!), MonitorProtocol.Auto, TimeSpan.FromSeconds(5), null, CancellationToken.None));
        qemu.Kill();
        await qmp.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<MonitorDisconnectedException>(() => qmp.QueryVersionAsync(CancellationToken.None));
    }
}
