using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;
using KvmUdevAgent.Core.Vms;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// Makes each VM hold exactly what the rules route to it from the devices present now: run when
/// a monitor (re)connects, after a resync and after a rules reload. Desired state comes from the
/// tracker and the rules; actual state from the VM (QEMU's <c>qom-list</c>, libvirt's live XML), never from our own records,
/// which are brought in line afterwards.
/// </summary>
internal sealed class VmReconcileCoordinator(
    VmRegistry vms,
    RuleStore rules,
    DeviceTracker tracker,
    StateStore state,
    IAuditWriter audit,
    ILogger logger,
    TimeProvider? timeProvider = null) : IDisposable
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Hooks every VM's "came back" events (first connect, reconnect, a libvirt domain that started).</summary>
    public void Register()
    {
        foreach (IVm vm in vms.Vms)
        {
            vm.OnCameBack(ReconcileAsync);
        }
    }

    public async Task ReconcileAllAsync(CancellationToken cancellationToken)
    {
        foreach (IVm vm in vms.Vms)
        {
            if (vm.IsConnected)
            {
                try
                {
                    await ReconcileAsync(vm, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is VmException or IOException)
                {
                    // The monitor went away mid-way: its next connect reconciles again.
                }
            }
        }
    }

    public async Task ReconcileAsync(IVm monitor, CancellationToken cancellationToken)
    {
        // One VM at a time: a reconnect during a resync must not attach the same device twice.
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The same gate as every attach: never into a VM that is migrating in or out (design §7).
            // It runs again when the VM resumes (RESUME event, or HMP polling).
            if (await monitor.AttachRefusalAsync(cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                Log.ReconcileDeferred(logger, monitor.Name, refusal);
                return;
            }

            Dictionary<string, Wanted> wanted = Desired(monitor.Name);
            ReconcileResult result = await VmReconciler.ReconcileAsync(monitor.Name, monitor, [.. wanted.Values.Select(w => w.Request)], cancellationToken).ConfigureAwait(false);
            Apply(monitor.Name, wanted, result);
            Log.Reconciled(logger, monitor.Name, result.Attached.Count, result.Detached.Count, result.Unchanged.Count, result.Failed.Count);
        }
        finally
        {
            _gate.Release();
        }
    }

    private Dictionary<string, Wanted> Desired(string vm)
    {
        var wanted = new Dictionary<string, Wanted>(StringComparer.Ordinal);
        RuleSet ruleSet = rules.Current;
        foreach (TrackedDevice tracked in tracker.Present)
        {
            if (tracked.View is not { } device)
            {
                continue;
            }
            foreach (PlannedAction action in ruleSet.Evaluate(device).Actions)
            {
                if (action is PlannedAttach attach && attach.Vm == vm
                    && AttachRequests.TryCreate(attach, device, out AttachRequest? request, out _))
                {
                    wanted.TryAdd(request.Id, new Wanted(request, attach, device));
                }
            }
        }

        return wanted;
    }

    private void Apply(string vm, Dictionary<string, Wanted> wanted, ReconcileResult result)
    {
        foreach (string id in result.Attached)
        {
            Wanted w = wanted[id];
            Record(w, vm, id);
            using AuditRecord record = Audit(AuditTypes.DeviceAttach, w.Device, w.Attach.Rule, "attach", vm, id);
            record.Set("reason", "reconcile");
            record.Succeed();
        }

        foreach (string id in result.Unchanged)
        {
            Wanted w = wanted[id];
            Record(w, vm, id);
        }

        foreach (string id in result.Detached)
        {
            AttachmentRecord? known = state.Snapshot.Attachments.FirstOrDefault(a => a.Vm == vm && a.QemuId == id);
            state.RemoveAttachment(vm, id);
            using var record = new AuditRecord(audit, AuditTypes.DeviceDetach);
            if (known is not null)
            {
                record.DevPath = known.Device.DevPath;
                record.Vendor = known.Device.Vendor?.ToString();
                record.Product = known.Device.Product?.ToString();
                record.Serial = known.Device.Serial;
            }

            record.Action = "detach";
            record.Target = vm;
            record.Set("qemu_id", id);
            record.Set("reason", "reconcile: no present device is routed here");
            record.Succeed();
        }

        foreach ((string id, Exception error) in result.Failed)
        {
            using AuditRecord record = wanted.TryGetValue(id, out Wanted? w)
                ? Audit(AuditTypes.DeviceAttach, w.Device, w.Attach.Rule, "attach", vm, id)
                : new AuditRecord(audit, AuditTypes.DeviceDetach) { Action = "detach", Target = vm };
            record.Set("qemu_id", id);
            record.Set("reason", "reconcile");
            record.Fail(error);
        }

        // Records of this VM that QEMU does not hold (any more) go.
        var held = new HashSet<string>(result.Attached.Concat(result.Unchanged), StringComparer.Ordinal);
        foreach (AttachmentRecord attachment in state.Snapshot.Attachments)
        {
            if (attachment.Vm == vm && !held.Contains(attachment.QemuId))
            {
                state.RemoveAttachment(vm, attachment.QemuId);
            }
        }
    }

    private void Record(Wanted w, string vm, string id) =>
        state.SetAttachment(AttachRequests.Record(w.Device, vm, id, w.Attach.Kind, _time.GetUtcNow()));

    private AuditRecord Audit(string type, DeviceView device, string rule, string action, string vm, string id)
    {
        var record = new AuditRecord(audit, type).WithEvent(device.Event).WithIdentity(device.Identity);
        record.Rule = rule;
        record.Action = action;
        record.Target = vm;
        record.Set("qemu_id", id);
        return record;
    }

    public void Dispose() => _gate.Dispose();

    private sealed record Wanted(AttachRequest Request, PlannedAttach Attach, DeviceView Device);
}
