using System.Globalization;
using KvmUdevAgent.Core.Audit;
using Serilog;
using Serilog.Core;

namespace KvmUdevAgent.Core.Tests.Audit;

public sealed class SyslogLogEventSinkTests(RsyslogFixture fixture) : IClassFixture<RsyslogFixture>
{
    private readonly RsyslogServer _rsyslog = fixture.Server;

    [Fact]
    public async Task Emit_WarningWithHostilePropertyAndException_ArrivesAsStructuredData()
    {
        string token = Guid.NewGuid().ToString("N");
        string devPath = "/devices/\"q\"]\\x\n" + token;
        AuditSettings settings = AuditTestSupport.Settings(_rsyslog.UnixTarget);
        await using (var sink = SyslogLogEventSink.Create(settings))
        {
            // Flushed before the logger is disposed: disposing it disposes the sink, whose stop-time
            // drain (250 ms) a loaded machine can miss; that drain has its own tests.
            using Logger logger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger();
            logger.ForContext(Constants.SourceContextPropertyName, "KvmUdevAgent.Actions.AttachAction")
                .Warning(new InvalidOperationException("boom"), "Failed to attach {DevPath} to {Vm}, retrying in {Delay}", devPath, "winxp", TimeSpan.FromSeconds(2));
            Assert.True(await sink.FlushAsync(AuditTestSupport.Timeout));
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.Equal(((20 * 8) + 4).ToString(CultureInfo.InvariantCulture), m.Pri);
        Assert.Equal(("kua-test", "-"), (m.AppName, m.MsgId));
        ParsedSdElement sd = m.Element("log@32473");
        Assert.Equal(devPath, sd["DevPath"]);
        Assert.Equal("winxp", sd["Vm"]);
        Assert.Equal("00:00:02", sd["Delay"]);
        Assert.Equal("KvmUdevAgent.Actions.AttachAction", sd["SourceContext"]);
        Assert.StartsWith("System.InvalidOperationException: boom", sd["exception"], StringComparison.Ordinal);
        // Serilog quotes string properties in the rendered text (escaping only the quote); control characters are ours to escape.
        Assert.Equal(AuditTestSupport.EscapeControls($"Failed to attach \"{devPath.Replace("\"", "\\\"", StringComparison.Ordinal)}\" to \"winxp\", retrying in 00:00:02"), m.Text);
    }

    [Fact]
    public async Task WriteToSyslog_LoggerDisposed_FlushesAndUsesEventIdNameAsMsgId()
    {
        string token = Guid.NewGuid().ToString("N");
        AuditSettings settings = AuditTestSupport.Settings(_rsyslog.TcpTarget);
        await using (Logger logger = new LoggerConfiguration().MinimumLevel.Information().WriteToSyslog(settings, drainTimeout: AuditTestSupport.Timeout).CreateLogger())
        {
            logger.ForContext("EventId", new { Id = 7001, Name = "RulesReloaded" }, destructureObjects: true)
                .Information("Rules reloaded from {Dir}", token);
            logger.Debug("below the minimum level {Token}", token);
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.Equal(("RulesReloaded", ((20 * 8) + 6).ToString(CultureInfo.InvariantCulture)), (m.MsgId, m.Pri));
        Assert.Equal(token, m.Element("log@32473")["Dir"]);
        Assert.Single(_rsyslog.ReadAll(), x => x.Raw.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public void WriteToSyslog_Off_AddsNoSink()
    {
        Assert.True(AuditSettings.TryCreate(new KvmUdevAgent.Core.Configuration.AuditConfig { Syslog = "off" }, out AuditSettings? off, out _));
        var configuration = new LoggerConfiguration();
        Assert.Same(configuration, configuration.WriteToSyslog(off));
    }
}
