namespace KvmUdevAgent.Core.Qemu;

/// <summary>What QEMU says of a VM right now: its run state and, where known, its migration status.</summary>
/// <param name="RunState">QEMU's run state verbatim (<c>running</c>, <c>paused</c>, <c>prelaunch</c>, <c>inmigrate</c>, ...).</param>
/// <param name="Migration">QEMU's migration status verbatim (<c>none</c> when there was none).</param>
internal sealed record VmRunState(string RunState, string Migration)
{
    /// <summary>
    /// Why nothing may be attached into this VM now; null when an attach is fine. A destination
    /// waiting for its incoming migration is <c>inmigrate</c> (or <c>prelaunch</c> while the
    /// incoming migration is under way); a source that has sent its VM away is <c>postmigrate</c>.
    /// </summary>
    public string? Refusal =>
        MigrationStatuses.IsMigrationRunState(RunState) ? $"its QEMU is in state '{RunState}' (migrating)"
        : MigrationStatuses.IsUnderWay(Migration) ? $"a migration is under way (status '{Migration}')"
        : null;
}
