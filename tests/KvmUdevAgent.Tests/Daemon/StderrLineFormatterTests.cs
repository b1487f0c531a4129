using System.Globalization;
using CsCheck;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Daemon;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Display;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// The text format's plan line, written by <see cref="StderrLineFormatter"/> itself (issue 15), is the
/// line Serilog's template makes of the plan's text, for any device strings in the path or the plan;
/// a plan that cannot be described leaves nothing behind.
/// </summary>
public sealed class StderrLineFormatterTests
{
    private static readonly Gen<string> s_text = Gen.Frequency(
        (3, HostileStrings.Short),
        (2, Gen.Char.Array[0, 12].Select(c => new string(c))),
        (1, Gen.OneOf(Gen.Const("{Plan}"), Gen.Const("{{"), Gen.Const("}"), Gen.Const("'"), Gen.Const(""))));

    [Fact]
    public void Format_PlanLine_SameTextAsSerilogsTemplateWithThePlansText()
    {
        Gen.Select(s_text, s_text, s_text.Array[0, 3], s_text.Where(s => s.All(c => !char.IsSurrogate(c))), Gen.Bool)
            .Sample((action, devPath, argv, serial, attach) =>
            {
                PlannedAction[] actions = attach
                    ? [new PlannedHook("the-one", ["/bin/true", .. argv], HookSpec.DefaultTimeout), new PlannedAttach("r", "vm", AttachKind.UsbStorage, false, true, serial)]
                    : [new PlannedHook("the-one", ["/bin/true", .. argv], HookSpec.DefaultTimeout)];
                var plan = new Plan(null!, [.. actions], 1);
                LogEvent logEvent = Logged(action, devPath, plan);
                string expected = SerilogText(logEvent);

                using var output = new StringWriter(CultureInfo.InvariantCulture);
                using var formatter = new StderrLineFormatter(LogFormat.Text);
                formatter.Format(logEvent, output);

                Assert.Equal(expected, output.ToString());
                // Written by the formatter itself: Serilog's path would have replaced the plan by its text.
                Assert.IsType<PlanText>(Assert.IsType<ScalarValue>(logEvent.Properties["Plan"]).Value);
            }, iter: 2000);
    }

    [Fact]
    public void Format_PlanThatThrows_NothingWrittenAndTheNextLineWhole()
    {
        using var formatter = new StderrLineFormatter(LogFormat.Text);
        var bad = new Plan(null!, [new PlannedHook("h", ["/bin/true"], HookSpec.DefaultTimeout), new PlannedAttach("r", "vm", AttachKind.UsbStorage, false, Serial: "S\ud800")], 1);
        var good = new Plan(null!, [new PlannedHook("the-one", ["/bin/true", "S000001"], HookSpec.DefaultTimeout)], 1);
        using var output = new StringWriter(CultureInfo.InvariantCulture);

        Assert.ThrowsAny<ArgumentException>(() => formatter.Format(Logged("add", "/devices/a", bad), output));
        formatter.Format(Logged("add", "/devices/b", good), output);

        Assert.Equal("INF Plan for add /devices/b: run /bin/true S000001 (timeout 10s) (rule the-one)" + Environment.NewLine, output.ToString());
    }

    /// <summary>The plan's event as the daemon makes it: <see cref="Log.Plan"/> through Microsoft.Extensions.Logging and Serilog.</summary>
    private static LogEvent Logged(string action, string devPath, Plan plan)
    {
        var kept = new KeepLast();
        using Logger serilog = new LoggerConfiguration().Destructure.AsScalar<PlanText>().WriteTo.Sink(kept).CreateLogger();
        using var factory = new SerilogLoggerFactory(serilog);
        Core.Agent.Log.Plan(factory.CreateLogger("KvmUdevAgent.Core.Agent.AgentDaemon"), action, devPath, new PlanText(plan));
        return kept.Last ?? throw new InvalidOperationException("nothing logged");
    }

    /// <summary>Serilog's own text of the line, the plan given as its text.</summary>
    private static string SerilogText(LogEvent logEvent)
    {
        var copy = new LogEvent(logEvent.Timestamp, logEvent.Level, logEvent.Exception, logEvent.MessageTemplate,
            logEvent.Properties.Select(p => new LogEventProperty(p.Key, p.Value is ScalarValue { Value: PlanText text } ? new ScalarValue(text.ToString()) : p.Value)));
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        new MessageTemplateTextFormatter(StderrLineFormatter.TextTemplate, CultureInfo.InvariantCulture).Format(copy, output);
        return output.ToString();
    }

    private sealed class KeepLast : ILogEventSink
    {
        public LogEvent? Last { get; private set; }

        public void Emit(LogEvent logEvent) => Last = logEvent;
    }
}
