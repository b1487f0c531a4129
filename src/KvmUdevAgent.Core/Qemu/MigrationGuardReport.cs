namespace KvmUdevAgent.Core.Qemu;

/// <summary>What the guard did about a migration the agent did not start.</summary>
/// <param name="Vm">The VM's name.</param>
/// <param name="Status">The <c>MIGRATION</c> status that triggered it (<c>setup</c> or <c>active</c>).</param>
/// <param name="Devices">The agent's devices the VM holds (why the migration is unsafe).</param>
/// <param name="Cancelled">True when <c>migrate_cancel</c> was accepted.</param>
/// <param name="Error">QEMU's answer to <c>migrate_cancel</c> when it failed.</param>
internal sealed record MigrationGuardReport(string Vm, string Status, IReadOnlyList<string> Devices, bool Cancelled, string? Error);
