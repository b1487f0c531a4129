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
    public void IsEvent_OnlyAnObjectWithAnEventMember()
    {
        Assert.True(QmpConnection.IsEvent("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n"u8));
        Assert.False(QmpConnection.IsEvent("{\"QMP\": {\"version\": {}}}"u8));
        Assert.False(QmpConnection.IsEvent("[\"event\"]"u8));
        Assert.False(QmpConnection.IsEvent("{\"event\": "u8));
        Assert.False(QmpConnection.IsEvent("QEMU 7.2.22 monitor"u8));
    }

    /// <summary>
    /// QEMU writes an event raised between one client's leaving and the next one's greeting to the
    /// next client, before its greeting (measured: about 1 connection in 200 while events flow).
    /// Events are raised here as fast as the support's own socket can stop and resume the VM, while
    /// the code under test connects again and again; every connection must come up and answer.
    /// </summary>
    [Fact]
    public async Task ConnectAsync_EventsRaisedWhileClientsComeAndGo_EveryConnectionGetsItsGreeting()
    {
        await using QmpConnection toggler = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(_fixture.Qemu.ReadySocket), MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None));
        string before = (await toggler.ExecuteAsync("query-status", null, CancellationToken.None)).GetProperty("status").GetString()!;
        using var stop = new CancellationTokenSource();
        Task toggling = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                await toggler.ExecuteAsync(i % 2 == 0 ? "cont" : "stop", null, CancellationToken.None);
            }
        });
        try
        {
            for (int i = 0; i < 500 && !toggling.IsCompleted; i++)
            {
                await using QmpConnection qmp = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
                    MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None));
                Assert.Equal(qmp.Version, await qmp.QueryVersionAsync(CancellationToken.None));
            }
        }
        finally
        {
            stop.Cancel();
            await toggling;
            await toggler.ExecuteAsync(before == "running" ? "cont" : "stop", null, CancellationToken.None);
        }
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
    public async Task ExecuteAsync_CommandQemuCannotParse_FailsAtOnceWithQemusErrorAndTheNextIsAnswered()
    {
        // QEMU refuses U+FFFE in a string and answers without the command's id; the answer is routed by
        // the order the commands were written in, so the command fails now, not after its timeout.
        await using QmpConnection qmp = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Qmp, TimeSpan.FromSeconds(5), null, CancellationToken.None));
        var timeout = TimeSpan.FromSeconds(30);
        Action<System.Text.Json.Utf8JsonWriter> unparseable = w =>
        {
            w.WriteString("path", "/machine/\uFFFE");
            w.WriteString("property", "type");
        };

        QmpException refused = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("qom-get", unparseable, timeout, CancellationToken.None));
        Assert.Equal(QmpErrorClasses.GenericError, refused.Class);
        Assert.Contains("is not a valid Unicode character", refused.Message, StringComparison.Ordinal);

        // In one write: the first answered, the second refused, the third answered, each its own.
        Task<System.Text.Json.JsonElement>[] answers = await qmp.SendInOrderAsync(
            [(QmpCommands.QueryVersion, null), ("qom-get", unparseable), ("qom-get", w => { w.WriteString("path", "/machine"); w.WriteString("property", "type"); })],
            CancellationToken.None);
        Assert.Equal(qmp.Version.Major, (await answers[0].WaitAsync(timeout)).GetProperty("qemu").GetProperty("major").GetInt32());
        await Assert.ThrowsAsync<QmpException>(() => answers[1].WaitAsync(timeout));
        Assert.EndsWith("-machine", (await answers[2].WaitAsync(timeout)).GetString(), StringComparison.Ordinal);
        Assert.Equal(qmp.Version, await qmp.QueryVersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ExecuteAsync_AfterAWriteThatWasCancelled_AnAnswerWithoutIdStillGoesToItsCommand()
    {
        // A command whose write was cancelled never reached QEMU: the order of the commands written
        // must pass over it, or QEMU's answer without an id (a command it cannot parse) would go to
        // it and the command QEMU refused would wait out its timeout.
        RecordingStream? stream = null;
        await using QmpConnection qmp = Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(
            MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Qmp, TimeSpan.FromSeconds(5), s => stream = new RecordingStream(s), CancellationToken.None));
        var timeout = TimeSpan.FromSeconds(30);
        stream!.CancelWrite = data => data.Span.IndexOf("query-name"u8) >= 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => qmp.ExecuteAsync("query-name", null, timeout, CancellationToken.None));
        stream.CancelWrite = null;
        Assert.DoesNotContain("query-name", stream.WrittenText, StringComparison.Ordinal);

        Assert.Equal(qmp.Version, await qmp.QueryVersionAsync(CancellationToken.None));
        QmpException refused = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("qom-get", w =>
        {
            w.WriteString("path", "/machine/\uFFFE");
            w.WriteString("property", "type");
        }, timeout, CancellationToken.None).WaitAsync(timeout));
        Assert.Contains("is not a valid Unicode character", refused.Message, StringComparison.Ordinal);
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
