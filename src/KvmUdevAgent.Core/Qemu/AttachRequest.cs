namespace KvmUdevAgent.Core.Qemu;

/// <summary>One device the agent wants in a VM; the desired state of a reconcile is a list of these.</summary>
internal abstract record AttachRequest
{
    /// <summary>The agent-made QEMU id (<see cref="QemuDeviceId"/>); equal requests have equal ids.</summary>
    public abstract string Id { get; }
}
