using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Agent;

/// <summary>The answer to <c>migrate</c> once the migration has ended (the same object as text and as <c>--json</c>).</summary>
public sealed record MigrationReport
{
    /// <summary>The VM's name.</summary>
    public required string Vm { get; init; }
    /// <summary>The destination as given.</summary>
    public required string Uri { get; init; }
    /// <summary>QEMU's final migration status: <c>completed</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public required string Status { get; init; }
    /// <summary>True for <c>completed</c>: the VM has left this host.</summary>
    public bool Succeeded { get; init; }
    /// <summary>QEMU's own error text for a failed or cancelled migration; null on success.</summary>
    public string? Error { get; init; }
    /// <summary><c>qmp</c>, or <c>hmp</c> (progress then comes from polling <c>info migrate</c>).</summary>
    public required string Protocol { get; init; }
    /// <summary>The agent's devices taken out of the VM before <c>migrate</c> was sent.</summary>
    public IReadOnlyList<string> Detached { get; init; } = [];
    /// <summary>The VM was paused by this failed migration and has been resumed.</summary>
    public bool Resumed { get; init; }
    /// <summary>Milliseconds spent detaching the agent's devices.</summary>
    public double DetachMs { get; init; }
    /// <summary>Milliseconds from <c>migrate</c> to its final status.</summary>
    public double MigrateMs { get; init; }
    /// <summary>QEMU's last progress report.</summary>
    public MigrationProgress? Progress { get; init; }
}
