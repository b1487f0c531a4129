using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

internal static partial class Log
{
    [LoggerMessage(LogEvents.AgentMigrationStarting, LogLevel.Information, "Migrating VM {Vm} to {Uri}: {Count} agent devices detached first ({Devices})")]
    public static partial void MigrationStarting(ILogger logger, string vm, string uri, int count, string devices);

    [LoggerMessage(LogEvents.AgentMigrationCompleted, LogLevel.Information, "VM {Vm} migrated to {Uri} in {MigrateMs} ms; its devices on this QEMU are forgotten and nothing is attached to it again")]
    public static partial void MigrationCompleted(ILogger logger, string vm, string uri, double migrateMs);

    [LoggerMessage(LogEvents.AgentMigrationFailed, LogLevel.Error, "Migration of VM {Vm} to {Uri} ended {Status}: {Error}; VM resumed: {Resumed}; routed devices attached again")]
    public static partial void MigrationFailed(ILogger logger, string vm, string uri, string status, string error, bool resumed);

    [LoggerMessage(LogEvents.AgentMigrationRefused, LogLevel.Warning, "Migration of VM {Vm} to {Uri} not started: {Reason}")]
    public static partial void MigrationRefused(ILogger logger, string vm, string uri, string reason);

    [LoggerMessage(LogEvents.AgentMigrationGuard, LogLevel.Warning, "A migration of VM {Vm} was started outside the agent (status {Status}) while it holds agent devices {Devices}: {Outcome}. The destination would lack them and the VM would be lost; migrate it with 'kvm-udev-agent migrate {Vm} URI' (its devices leave first), or set 'migration: allow' for it")]
    public static partial void MigrationGuard(ILogger logger, string vm, string status, string devices, string outcome);

    [LoggerMessage(LogEvents.AgentMigrationPolling, LogLevel.Information, "VM {Vm} has an HMP monitor: following the migration by polling 'info migrate' every {Interval} (HMP has no events)")]
    public static partial void MigrationPolling(ILogger logger, string vm, TimeSpan interval);

    [LoggerMessage(LogEvents.AgentReconcileDeferred, LogLevel.Information, "Reconcile of VM {Vm} deferred: {Reason}")]
    public static partial void ReconcileDeferred(ILogger logger, string vm, string reason);
}
