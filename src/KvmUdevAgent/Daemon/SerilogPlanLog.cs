using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using Serilog.Core;
using Serilog.Events;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// The daemon's plan lines (issue 15), straight to its Serilog logger instead of through
/// Microsoft.Extensions.Logging, whose Serilog bridge built a property list, a dictionary, the boxed
/// state and the event on the pipeline's thread for every plan. The level is still the logger's for the
/// agent's category (<c>--verbose</c>, the overrides). On stderr the line is queued as it is
/// (<see cref="PlanLine"/>) and the log's writer thread makes it; the sink is the logger's only one and
/// the logger has no enricher but the category, which the line carries (<see cref="DaemonHost"/>).
/// Any other target (syslog) gets the event <see cref="Log.Plan"/> would make, made here.
/// </summary>
internal sealed class SerilogPlanLog(Serilog.ILogger logger, StderrLogSink? stderr) : IPlanLog
{
    private readonly Serilog.ILogger _agent = logger.ForContext(Constants.SourceContextPropertyName, AgentDaemon.LogCategory);

    public void Plan(string action, string devPath, Plan plan)
    {
        if (!_agent.IsEnabled(LogEventLevel.Information))
        {
            return;
        }

        var line = new PlanLine(action, devPath, plan);
        if (stderr is not null)
        {
            stderr.Emit(line);
        }
        else
        {
            _agent.Write(line.ToLogEvent());
        }
    }
}
