using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// Where the pipeline says a routed plan's log line: <see cref="Log.Plan"/>'s line (information, event
/// <see cref="LogEvents.AgentPlan"/>, category <see cref="AgentDaemon.LogCategory"/>), with the same text,
/// level, event and properties whoever writes it. By default through the <c>ILogger</c>
/// (<see cref="LoggerPlanLog"/>); the daemon hands it to its Serilog log as it is, and the log's writer
/// thread makes the line (issue 15: the pipeline's thread is the critical path).
/// </summary>
internal interface IPlanLog
{
    /// <summary>Says the line, unless its level is off for the category; the plan's text is made only when the line is written.</summary>
    void Plan(string action, string devPath, Plan plan);
}
