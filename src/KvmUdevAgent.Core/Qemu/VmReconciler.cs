using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Makes a VM's <c>kua-</c> devices match the desired set: attaches what is wanted but missing,
/// detaches agent devices nobody wants any more (their host device is gone, or the rule changed),
/// and removes leftover <c>kua-</c> block nodes. The actual state is QEMU's answer
/// (<c>qom-list /machine/peripheral</c>, block nodes), never the agent's bookkeeping; devices
/// without the <c>kua-</c> prefix are the VM's own and are never touched.
/// </summary>
internal sealed class VmReconciler
{
    private readonly Func<string, IReadOnlyCollection<AttachRequest>> _desired;
    private readonly ILogger _logger;

    /// <param name="desired">The devices wanted in a VM (by name) right now: rules × present devices, from the daemon.</param>
    /// <param name="logger">Where outcomes of reconciles run on reconnect are logged.</param>
    public VmReconciler(Func<string, IReadOnlyCollection<AttachRequest>> desired, ILogger? logger = null)
    {
        _desired = desired;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Reconciles <paramref name="monitor"/> now, and again every time its monitor comes back.</summary>
    public void Attach(VmMonitor monitor) => monitor.OnCameBack(async (m, cancellationToken) =>
    {
        ReconcileResult result = await ReconcileAsync(m.Name, m, _desired(m.Name), cancellationToken).ConfigureAwait(false);
        Report(result);
    });

    public Task<ReconcileResult> ReconcileAsync(VmMonitor monitor, CancellationToken cancellationToken) =>
        ReconcileAsync(monitor.Name, monitor, _desired(monitor.Name), cancellationToken);

    private void Report(ReconcileResult result)
    {
        foreach ((string id, Exception error) in result.Failed)
        {
            Log.ReconcileDeviceFailed(_logger, result.Vm, id, error);
        }

        Log.ReconcileCompleted(_logger, result.Vm, result.Attached.Count, result.Detached.Count, result.Unchanged.Count, result.Failed.Count);
    }

    /// <summary>
    /// One pass. A device that fails is recorded in <see cref="ReconcileResult.Failed"/> and the
    /// others still proceed; losing the VM (a <see cref="Vms.VmException"/> that <see cref="Vms.VmException.IsUnavailable"/>) ends the pass.
    /// </summary>
    public static async Task<ReconcileResult> ReconcileAsync(string vm, Vms.IVmDevices monitor, IReadOnlyCollection<AttachRequest> desired, CancellationToken cancellationToken)
    {
        AgentDeviceList actual = await monitor.ListAgentDevicesAsync(cancellationToken).ConfigureAwait(false);
        var present = new HashSet<string>(actual.Devices.Select(d => d.Id), StringComparer.Ordinal);
        var wanted = new Dictionary<string, AttachRequest>(StringComparer.Ordinal);
        foreach (AttachRequest request in desired)
        {
            wanted.TryAdd(request.Id, request);
        }

        var attached = new List<string>();
        var detached = new List<string>();
        var unchanged = new List<string>();
        var failed = new List<(string, Exception)>();

        // Detach first: a device that changed (e.g. read-only → read-write) has a new id but the
        // same host device, whose write lock the old one still holds.
        foreach (AgentDevice device in actual.Devices)
        {
            if (wanted.ContainsKey(device.Id))
            {
                continue;
            }

            try
            {
                await monitor.DetachAsync(device.Id, cancellationToken).ConfigureAwait(false);
                detached.Add(device.Id);
            }
            catch (Vms.VmException e) when (!e.IsUnavailable)
            {
                failed.Add((device.Id, e));
            }
        }

        foreach ((string id, AttachRequest request) in wanted)
        {
            if (present.Contains(id))
            {
                unchanged.Add(id);
                continue;
            }

            try
            {
                AttachResult result = await monitor.AttachAsync(request, cancellationToken).ConfigureAwait(false);
                (result == AttachResult.Attached ? attached : unchanged).Add(id);
            }
            catch (Vms.VmException e) when (!e.IsUnavailable)
            {
                failed.Add((id, e));
            }
        }

        // Block nodes whose device is gone: left by a detach that timed out, or a failed attach.
        foreach (string node in actual.BlockNodes)
        {
            if (!node.EndsWith(QemuDeviceId.NodeSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            string id = node[..^QemuDeviceId.NodeSuffix.Length];
            if (present.Contains(id) || wanted.ContainsKey(id) || !QemuDeviceId.IsAgentId(id))
            {
                continue;
            }

            try
            {
                await monitor.DetachAsync(id, cancellationToken).ConfigureAwait(false);
            }
            catch (Vms.VmException e) when (!e.IsUnavailable)
            {
                failed.Add((id, e));
            }
        }

        return new ReconcileResult(vm, attached, detached, unchanged, failed);
    }
}
