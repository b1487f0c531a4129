using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Daemon;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// The daemon's plan lines go straight to its Serilog logger (<see cref="SerilogPlanLog"/>, issue 15) and
/// come out as they did through Microsoft.Extensions.Logging (<see cref="LoggerPlanLog"/>, the old path):
/// the same stderr text and JSON for any device strings, the same event for any other sink, under the
/// same level.
/// </summary>
public sealed partial class SerilogPlanLogTests
{
    private static readonly Gen<string> s_text = Gen.Frequency(
        (3, HostileStrings.Short),
        (2, Gen.Char.Array[0, 12].Select(c => new string(c))),
        (1, Gen.OneOf(Gen.Const("{Plan}"), Gen.Const("{{"), Gen.Const("}"), Gen.Const("'"), Gen.Const(""), Gen.Const("\n"))));

    // A plan, now and then one that cannot be described (a serial with a lone surrogate): no line either way.
    private static readonly Gen<(string Action, string DevPath, Plan Plan)> s_line =
        Gen.Select(s_text, s_text, s_text.Array[0, 3], s_text, Gen.Int[0, 2]).Select((action, devPath, argv, serial, kind) =>
        {
            PlannedAction[] actions = kind switch
            {
                0 => [new PlannedHook("the-one", ["/bin/true", .. argv], HookSpec.DefaultTimeout)],
                1 => [new PlannedHook("the-one", ["/bin/true", .. argv], HookSpec.DefaultTimeout), new PlannedAttach("r", "vm", AttachKind.UsbStorage, false, true, serial)],
                _ => [new PlannedAttach("flash", "winxp", AttachKind.UsbHost, false), new PlannedMount("m", serial, ["ro"], "vfat")],
            };
            return (action, devPath, new Plan(null!, [.. actions], 1));
        });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Plan_Stderr_SameOutputAsLogPlanThroughMicrosoftExtensionsLogging(bool json)
    {
        LogFormat format = json ? LogFormat.Json : LogFormat.Text;
        s_line.Array[1, 40].Sample(lines =>
        {
            string old = Stderr(format, (logger, _) =>
            {
                using var factory = new SerilogLoggerFactory(logger);
                var log = new LoggerPlanLog(factory.CreateLogger(AgentDaemon.LogCategory));
                foreach ((string action, string devPath, Plan plan) in lines)
                {
                    log.Plan(action, devPath, plan);
                }
            });
            string direct = Stderr(format, (logger, sink) =>
            {
                var log = new SerilogPlanLog(logger, sink);
                foreach ((string action, string devPath, Plan plan) in lines)
                {
                    log.Plan(action, devPath, plan);
                }
            });

            Assert.Equal(WithoutTime(old), WithoutTime(direct));
        }, iter: 60);
    }

    [Fact]
    public void Plan_Stderr_TextLineAsBefore()
    {
        var plan = new Plan(null!, [new PlannedHook("the-one", ["/bin/true", "S000123"], HookSpec.DefaultTimeout)], 1);

        string text = Stderr(LogFormat.Text, (logger, sink) => new SerilogPlanLog(logger, sink).Plan("add", "/devices/x", plan));

        Assert.Equal("INF Plan for add /devices/x: run /bin/true S000123 (timeout 10s) (rule the-one)\n", text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Plan_CategoryAtWarning_NoLineEitherWay(bool direct)
    {
        var plan = new Plan(null!, [new PlannedAttach("flash", "winxp", AttachKind.UsbHost, false)], 1);
        var output = new MemoryStream();
        LoggerConfiguration configuration = new LoggerConfiguration().MinimumLevel.Override(AgentDaemon.LogCategory, LogEventLevel.Warning);
        using (Logger logger = DaemonHost.WriteToStderr(configuration, LogFormat.Text, output, queueCapacity: 16, out StderrLogSink sink).CreateLogger())
        using (var factory = new SerilogLoggerFactory(logger))
        {
            IPlanLog log = direct ? new SerilogPlanLog(logger, sink) : new LoggerPlanLog(factory.CreateLogger(AgentDaemon.LogCategory));
            log.Plan("add", "/devices/x", plan);
            logger.Warning("after");
        }

        Assert.Equal("WRN after\n", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public void Plan_OtherSink_SameEventAsLogPlanThroughMicrosoftExtensionsLogging()
    {
        var plan = new Plan(null!, [new PlannedAttach("flash", "winxp", AttachKind.UsbHost, false)], 1);
        var kept = new KeepAll();
        using Logger logger = new LoggerConfiguration().Destructure.AsScalar<PlanText>().WriteTo.Sink(kept).CreateLogger();
        using var factory = new SerilogLoggerFactory(logger);
        using var activity = new Activity("plan-test").SetIdFormat(ActivityIdFormat.W3C).Start();

        new LoggerPlanLog(factory.CreateLogger(AgentDaemon.LogCategory)).Plan("coldplug", "/devices/x", plan);
        new SerilogPlanLog(logger, null).Plan("coldplug", "/devices/x", plan);

        Assert.Equal(2, kept.Events.Count);
        (LogEvent old, LogEvent direct) = (kept.Events[0], kept.Events[1]);
        Assert.Equal(old.MessageTemplate.Text, direct.MessageTemplate.Text);
        Assert.Equal(old.Level, direct.Level);
        Assert.Null(direct.Exception);
        Assert.Equal(old.TraceId, direct.TraceId);
        Assert.Equal(old.SpanId, direct.SpanId);
        Assert.Equal(old.Timestamp.Offset, direct.Timestamp.Offset);
        Assert.InRange(direct.Timestamp, old.Timestamp, DateTimeOffset.Now);
        Assert.Equal(old.Properties.Keys, direct.Properties.Keys);
        foreach ((string name, LogEventPropertyValue value) in old.Properties)
        {
            Assert.Equal(value.GetType(), direct.Properties[name].GetType());
            Assert.Equal(value.ToString(), direct.Properties[name].ToString());
        }

        Assert.IsType<PlanText>(Assert.IsType<ScalarValue>(direct.Properties["Plan"]).Value);
    }

    private static string Stderr(LogFormat format, Action<Logger, StderrLogSink> log)
    {
        var output = new MemoryStream();
        using (Logger logger = DaemonHost.WriteToStderr(new LoggerConfiguration(), format, output, queueCapacity: 16, out StderrLogSink sink).CreateLogger())
        {
            log(logger, sink);
        }

        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static string WithoutTime(string json) => TimeField().Replace(json, "\"@t\":\"\"");

    [GeneratedRegex("\"@t\":\"[^\"]*\"")]
    private static partial Regex TimeField();

    private sealed class KeepAll : ILogEventSink
    {
        public List<LogEvent> Events { get; } = [];

        public void Emit(LogEvent logEvent) => Events.Add(logEvent);
    }
}
