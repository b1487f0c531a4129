using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Vms;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// Carries out a <see cref="Plan"/> for one device: attach, mount and hook on add; on remove,
/// the reverse of what the state says was done (not of what today's rules would do, since the
/// rules may have changed since), then the rule's <c>on_remove</c> hooks. Every action is one
/// audit record. The caller runs one device's plans in order (<see cref="KeyedSerialQueue"/>).
/// </summary>
internal sealed partial class PlanExecutor(
    VmRegistry vms,
    MountAction mounts,
    HookRunner hooks,
    StateStore state,
    IAuditWriter audit,
    AgentCounters counters,
    ILogger logger,
    TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>
    /// Carries out <paramref name="plan"/>. <paramref name="announcement"/> (the pipeline's log line and
    /// record for the plan) is said once an attach's commands are answered, and before anything
    /// else this plan does is recorded.
    /// </summary>
    public async Task ExecuteAsync(Plan plan, DeviceView device, CancellationToken cancellationToken, PlanAnnouncement? announcement = null)
    {
        if (device.Event.Action == UeventAction.Remove)
        {
            announcement?.Run();
            await RevertAsync(plan, device, cancellationToken).ConfigureAwait(false);
            return;
        }

        foreach (PlannedAction action in plan.Actions)
        {
            switch (action)
            {
                case PlannedAttach attach:
                    await AttachAsync(attach, device, cancellationToken, announcement).ConfigureAwait(false);
                    break;
                case PlannedMount mount:
                    announcement?.Run();
                    await MountAsync(mount, device, cancellationToken).ConfigureAwait(false);
                    break;
                case PlannedHook hook:
                    announcement?.Run();
                    await HookAsync(hook, device, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }

        announcement?.Run();
    }

    /// <summary>Whether the state says something was attached or mounted for <paramref name="devPath"/>.</summary>
    public bool Holds(string devPath)
    {
        AgentState snapshot = state.Snapshot;
        return snapshot.Attachments.Any(a => a.Device.DevPath == devPath) || snapshot.Mounts.Any(m => m.Device.DevPath == devPath);
    }

    private async Task RevertAsync(Plan plan, DeviceView device, CancellationToken cancellationToken)
    {
        AgentState snapshot = state.Snapshot;
        foreach (AttachmentRecord attachment in snapshot.Attachments)
        {
            if (attachment.Device.DevPath == device.DevPath)
            {
                // The rule that routes it today, if any, names the record; the state decides what to undo.
                string? rule = plan.Actions.OfType<PlannedDetach>().FirstOrDefault(d => d.Vm == attachment.Vm)?.Rule;
                await DetachAsync(attachment, device, rule, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (MountRecord mount in snapshot.Mounts)
        {
            if (mount.Device.DevPath == device.DevPath)
            {
                await UnmountAsync(mount, device, plan.Actions.OfType<PlannedUnmount>().FirstOrDefault()?.Rule, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (PlannedAction action in plan.Actions)
        {
            if (action is PlannedHook hook)
            {
                await HookAsync(hook, device, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private AuditRecord NewRecord(string type, DeviceView device, string? rule, string action, string? target)
    {
        var record = new AuditRecord(audit, type, device.Event.ReceivedTimestamp).WithEvent(device.Event).WithIdentity(device.Identity);
        record.Rule = rule;
        record.Action = action;
        record.Target = target;
        return record;
    }

    private void Finish(AuditRecord record, string devPath, bool succeeded, string outcome)
    {
        if (succeeded)
        {
            record.Succeed();
            counters.Act();
            Log.ActionDone(logger, record.Action ?? string.Empty, devPath, record.Target ?? string.Empty, outcome);
        }
        else
        {
            record.Fail(outcome);
            counters.Fail();
            Log.ActionFailed(logger, record.Action ?? string.Empty, devPath, record.Target ?? string.Empty, outcome);
        }
    }
}
