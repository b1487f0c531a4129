namespace KvmUdevAgent.Core;

/// <summary>Agent feature, migration: 9100-9199.</summary>
internal static partial class LogEvents
{
    public const int AgentMigrationStarting = 9100;
    public const int AgentMigrationCompleted = 9101;
    public const int AgentMigrationFailed = 9102;
    public const int AgentMigrationRefused = 9103;
    public const int AgentMigrationGuard = 9104;
    public const int AgentMigrationPolling = 9105;
    public const int AgentReconcileDeferred = 9106;
}
