using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Vms;

/// <summary>
/// What a reconcile needs of a VM, whatever reaches it: attach, detach and the agent's devices as
/// the VM (not the agent's bookkeeping) reports them. Failures are <see cref="VmException"/>s;
/// one with <see cref="VmException.IsUnavailable"/> means "not now, a reconcile follows".
/// </summary>
internal interface IVmDevices
{
    /// <summary>Attaches <paramref name="request"/>; <see cref="AttachResult.AlreadyPresent"/> when a device with its id is there.</summary>
    Task<AttachResult> AttachAsync(AttachRequest request, CancellationToken cancellationToken);

    /// <summary>Removes the agent device <paramref name="id"/> (<c>kua-…</c> only) and waits for the VM to confirm.</summary>
    Task<DetachResult> DetachAsync(string id, CancellationToken cancellationToken);

    Task<AgentDeviceList> ListAgentDevicesAsync(CancellationToken cancellationToken);
}
