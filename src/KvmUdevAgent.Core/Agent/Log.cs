using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>The daemon's log lines. The pipeline is the orchestrator: it logs each failure once.</summary>
internal static partial class Log
{
    [LoggerMessage(LogEvents.AgentStarted, LogLevel.Information, "Ready: source {Source}, {RuleCount} rules (generation {Generation}), {VmCount} VMs, {Present} devices present{DryRun}")]
    public static partial void Started(ILogger logger, string source, int ruleCount, long generation, int vmCount, int present, string dryRun);

    [LoggerMessage(LogEvents.AgentStopping, LogLevel.Information, "Stopping: finishing {Busy} devices with work in flight")]
    public static partial void Stopping(ILogger logger, int busy);

    /// <summary><see cref="Plan"/>'s message template; the daemon's log makes the same line from it (<see cref="IPlanLog"/>).</summary>
    public const string PlanTemplate = "Plan for {Action} {DevPath}: {Plan}";

    /// <summary>Said only after <c>IsEnabled</c> (<see cref="LoggerPlanLog"/>), so the call does not ask again (issue 15).</summary>
    [LoggerMessage(LogEvents.AgentPlan, LogLevel.Information, PlanTemplate, SkipEnabledCheck = true)]
    public static partial void Plan(ILogger logger, string action, string devPath, PlanText plan);

    [LoggerMessage(LogEvents.AgentActionFailed, LogLevel.Warning, "Failed to {Action} {DevPath} ({Target}): {Error}")]
    public static partial void ActionFailed(ILogger logger, string action, string devPath, string target, string error);

    [LoggerMessage(LogEvents.AgentActionDone, LogLevel.Information, "{Action} {DevPath} ({Target}): {Outcome}")]
    public static partial void ActionDone(ILogger logger, string action, string devPath, string target, string outcome);

    [LoggerMessage(LogEvents.AgentOverflow, LogLevel.Warning, "Events were lost ({Kind}, {Missing} missing), resynchronising from sysfs")]
    public static partial void Overflow(ILogger logger, string kind, ulong missing);

    [LoggerMessage(LogEvents.AgentResync, LogLevel.Information, "Resync: {Present} devices present, {Removed} gone while events were lost")]
    public static partial void Resync(ILogger logger, int present, int removed);

    [LoggerMessage(LogEvents.AgentRulesReloaded, LogLevel.Information, "Rules reloaded: generation {Generation}, {RuleCount} rules")]
    public static partial void RulesReloaded(ILogger logger, long generation, int ruleCount);

    [LoggerMessage(LogEvents.AgentRulesReloadFailed, LogLevel.Warning, "Rules reload (generation {Attempted}) failed with {Errors} errors, keeping previous rules (generation {Active})")]
    public static partial void RulesReloadFailed(ILogger logger, long attempted, int errors, long active);

    [LoggerMessage(LogEvents.AgentReconciled, LogLevel.Information, "VM {Vm} reconciled: {Attached} attached, {Detached} detached, {Unchanged} unchanged, {Failed} failed")]
    public static partial void Reconciled(ILogger logger, string vm, int attached, int detached, int unchanged, int failed);

    [LoggerMessage(LogEvents.AgentStateRecovered, LogLevel.Warning, "State file {Path}: {Reason}; starting from an empty state")]
    public static partial void StateRecovered(ILogger logger, string path, string reason);

    [LoggerMessage(LogEvents.AgentEventFailed, LogLevel.Error, "Handling {Action} {DevPath} failed, ignoring")]
    public static partial void EventFailed(ILogger logger, string action, string devPath, Exception exception);

    [LoggerMessage(LogEvents.AgentNoVmReachable, LogLevel.Warning, "No VM monitor answers yet ({Vms}); devices routed to VMs will be attached when their monitor answers")]
    public static partial void NoVmReachable(ILogger logger, string vms);

    [LoggerMessage(LogEvents.AgentStopped, LogLevel.Information, "Stopped: every audit record was delivered ({Delivered} to {Target})")]
    public static partial void Stopped(ILogger logger, long delivered, string target);

    [LoggerMessage(LogEvents.AgentStoppedUndelivered, LogLevel.Warning, "Stopped: {Undelivered} audit records could not be delivered to {Target} ({Delivered} were); last error: {Error}")]
    public static partial void StoppedUndelivered(ILogger logger, long undelivered, string target, long delivered, string error);

    [LoggerMessage(LogEvents.AgentRulesUnchanged, LogLevel.Debug, "Rules directory changed, but its files are as generation {Generation} read them; not reloading")]
    public static partial void RulesUnchanged(ILogger logger, long generation);

    [LoggerMessage(LogEvents.AgentDeviceQueueOverflow, LogLevel.Warning, "Too many events of {DevPath} waiting behind its running action: dropped them ({Dropped} dropped in all), resynchronising it from sysfs")]
    public static partial void DeviceQueueOverflow(ILogger logger, string devPath, long dropped);

    [LoggerMessage(LogEvents.AgentHookCgroupsUnavailable, LogLevel.Warning, "Hooks run without a cgroup of their own ({Reason}): on timeout or exit only their process group is killed, and a child that calls setsid escapes")]
    public static partial void HookCgroupsUnavailable(ILogger logger, string reason);

    [LoggerMessage(LogEvents.AgentHookCgroupsSwept, LogLevel.Warning, "Removed {Count} hook cgroups left by an agent that no longer runs, killing what still ran in them: {Cgroups}")]
    public static partial void HookCgroupsSwept(ILogger logger, int count, string cgroups);

    [LoggerMessage(LogEvents.AgentEventUnread, LogLevel.Debug, "No rule can match {Action} {DevPath} (generation {Generation}): not read")]
    public static partial void Unread(ILogger logger, string action, string devPath, long generation);
}
