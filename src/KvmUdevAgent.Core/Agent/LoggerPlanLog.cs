using KvmUdevAgent.Core.Rules;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>The plan's line through an <c>ILogger</c> (<see cref="Log.Plan"/>), its text built only when the line is rendered (<see cref="PlanText"/>).</summary>
internal sealed class LoggerPlanLog(ILogger logger) : IPlanLog
{
    public void Plan(string action, string devPath, Plan plan)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            Log.Plan(logger, action, devPath, new PlanText(plan));
        }
    }
}
