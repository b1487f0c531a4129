namespace KvmUdevAgent.Core.Qemu;

/// <summary>QEMU's <c>MigrationStatus</c> and <c>RunState</c> values, verbatim, and what they mean for the agent.</summary>
internal static class MigrationStatuses
{
    public const string None = "none";
    public const string Setup = "setup";
    public const string Active = "active";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Cancelling = "cancelling";

    public const string MigrationEvent = "MIGRATION";
    public const string ResumeEvent = "RESUME";
    public const string StopEvent = "STOP";

    /// <summary>Run states (<c>query-status</c>, HMP <c>info status</c>).</summary>
    public const string Running = "running";
    public const string Paused = "paused";
    public const string InMigrate = "inmigrate";
    public const string PostMigrate = "postmigrate";
    public const string FinishMigrate = "finish-migrate";
    public const string Prelaunch = "prelaunch";

    /// <summary>A migration has ended, one way or the other.</summary>
    public static bool IsFinal(string status) => status is Completed or Failed or Cancelled;

    /// <summary>
    /// A migration is under way: QEMU refuses <c>device_add</c>/<c>device_del</c> now, and a guard
    /// must act (design §7). Everything but none and the final states.
    /// </summary>
    public static bool IsUnderWay(string status) => status is not (None or Completed or Failed or Cancelled) && status.Length > 0;

    /// <summary>
    /// Run states into which nothing may be attached: the VM is arriving (<c>inmigrate</c>; a
    /// <c>device_add</c> changes its device set and can break the incoming migration) or has left
    /// (<c>postmigrate</c>, <c>finish-migrate</c>).
    /// </summary>
    public static bool IsMigrationRunState(string runState) => runState is InMigrate or PostMigrate or FinishMigrate;
}
