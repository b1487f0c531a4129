namespace KvmUdevAgent.Core.Agent;

/// <summary>Options of the daemon that are not in the configuration file.</summary>
public sealed record AgentDaemonOptions
{
    /// <summary>Log each plan and act on nothing. Default false.</summary>
    public bool DryRun { get; init; }

    /// <summary>How long the rules directory must be quiet before a change is reloaded. Default 300 ms.</summary>
    public TimeSpan RulesReloadDebounce { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How long a stop waits for in-flight actions before abandoning them. Default 10 s.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Owner that rule files must have (hooks run as root). Default 0; tests may set their own uid.</summary>
    public uint RulesOwnerUid { get; init; }

    /// <summary>Where the plans' lines go; null: through the logger factory's <c>ILogger</c> (<see cref="LoggerPlanLog"/>).</summary>
    internal IPlanLog? PlanLog { get; init; }
}
