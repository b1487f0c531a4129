using System.Diagnostics;
using KvmUdevAgent.Core;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// A plan's log line as the pipeline hands it over (<see cref="SerilogPlanLog"/>): what it was said with
/// and when, nothing built yet. <see cref="ToLogEvent"/> makes the event <see cref="Log.Plan"/> makes
/// through Microsoft.Extensions.Logging and Serilog (same template, level, properties in the same order,
/// time, trace), on whichever thread writes it; the stderr log's text format needs not even that
/// (<see cref="StderrLineFormatter"/>).
/// </summary>
internal sealed class PlanLine
{
    public const string ActionProperty = "Action";
    public const string DevPathProperty = "DevPath";
    public const string PlanProperty = "Plan";

    /// <summary><see cref="Log.PlanTemplate"/>, parsed once.</summary>
    public static readonly MessageTemplate Template = new MessageTemplateParser().Parse(Log.PlanTemplate);

    // As Microsoft.Extensions.Logging gives them to Serilog: the [LoggerMessage]'s event (its id, its method's name) and category.
    private static readonly LogEventPropertyValue s_eventId = new StructureValue(
        [new LogEventProperty("Id", new ScalarValue(LogEvents.AgentPlan)), new LogEventProperty("Name", new ScalarValue(nameof(Log.Plan)))]);

    private static readonly LogEventPropertyValue s_sourceContext = new ScalarValue(AgentDaemon.LogCategory);

    // The clock read as DateTimeOffset.Now reads it, without its conversion to local time (made when the event is).
    private readonly DateTime _utcTimestamp = DateTime.UtcNow;
    private readonly ActivityTraceId _traceId;
    private readonly ActivitySpanId _spanId;

    public PlanLine(string action, string devPath, Plan plan)
    {
        Action = action;
        DevPath = devPath;
        Plan = plan;
        if (Activity.Current is { } activity)
        {
            _traceId = activity.TraceId;
            _spanId = activity.SpanId;
        }
    }

    public string Action { get; }

    public string DevPath { get; }

    public Plan Plan { get; }

    /// <summary>The value of the template's property <paramref name="name"/> (the plan as itself), or null.</summary>
    public object? ValueOf(string name) => name switch
    {
        ActionProperty => Action,
        DevPathProperty => DevPath,
        PlanProperty => Plan,
        _ => null,
    };

    /// <summary>The line as a Serilog event, its plan kept as a <see cref="PlanText"/> scalar (<c>Destructure.AsScalar</c>).</summary>
    public LogEvent ToLogEvent()
    {
        var properties = new Dictionary<string, LogEventPropertyValue>(5)
        {
            [ActionProperty] = new ScalarValue(Action),
            [DevPathProperty] = new ScalarValue(DevPath),
            [PlanProperty] = new ScalarValue(new PlanText(Plan)),
            ["EventId"] = s_eventId,
            [Constants.SourceContextPropertyName] = s_sourceContext,
        };
        return LogEvent.UnstableAssembleFromParts(
            new DateTimeOffset(_utcTimestamp).ToLocalTime(), LogEventLevel.Information, null, Template, properties, _traceId, _spanId);
    }
}
