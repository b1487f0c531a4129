namespace KvmUdevAgent.Core.Qemu;

/// <summary>What one reconcile of a VM did, by agent id.</summary>
internal sealed record ReconcileResult(
    string Vm,
    IReadOnlyList<string> Attached,
    IReadOnlyList<string> Detached,
    IReadOnlyList<string> Unchanged,
    IReadOnlyList<(string Id, Exception Error)> Failed);
