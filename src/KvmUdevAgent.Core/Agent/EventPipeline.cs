using System.Collections.Immutable;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// source → device view → rules → plan → per-device queue → executor. The netlink reader only
/// enqueues: everything that can be slow (sysfs, blkid, QEMU, mount, hooks) runs in the device's
/// own queue, so one slow device never stalls the reader or the others.
/// </summary>
internal sealed partial class EventPipeline(
    DeviceViewFactory views,
    DeviceTracker tracker,
    RuleStore rules,
    PlanExecutor executor,
    KeyedSerialQueue queue,
    ColdplugEnumerator coldplug,
    VmReconcileCoordinator reconcile,
    IAuditWriter audit,
    AgentCounters counters,
    ILogger logger,
    bool dryRun)
{
    private readonly AuditRateLimiter _overflowAudit = new(5, TimeSpan.FromMinutes(1));
    private readonly AuditRateLimiter _rejectAudit = new(5, TimeSpan.FromMinutes(1));

    public DeviceTracker Tracker => tracker;

    /// <summary>Reads the source until it completes or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(IUeventSource source, CancellationToken cancellationToken)
    {
        Task overflows = WatchOverflowsAsync(source, cancellationToken);
        Task rejects = WatchRejectsAsync(source, cancellationToken);
        try
        {
            await foreach (Uevent uevent in source.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Dispatch(uevent);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        try
        {
            await overflows.ConfigureAwait(false);
            await rejects.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Feeds every present device through the pipeline as a coldplug <c>add</c>.</summary>
    public int Coldplug(CancellationToken cancellationToken)
    {
        int count = 0;
        foreach (Uevent uevent in coldplug.Enumerate(cancellationToken))
        {
            Dispatch(uevent);
            count++;
        }

        return count;
    }

    public void Dispatch(Uevent uevent)
    {
        counters.Event();
        queue.Enqueue(uevent.DevPath, cancellationToken => ProcessAsync(uevent, cancellationToken));
    }

    private async Task ProcessAsync(Uevent uevent, CancellationToken cancellationToken)
    {
        try
        {
            DeviceObservation observation = await tracker.ObserveAsync(uevent, views, cancellationToken).ConfigureAwait(false);
            if (!observation.Routes || observation.View is not { } device)
            {
                return;
            }

            Plan plan = rules.Current.Evaluate(device);
            if (plan.IsEmpty)
            {
                if (uevent.Action == UeventAction.Add && !uevent.Coldplug && uevent.GetString(UeventKeys.Driver) is null)
                {
                    // The kernel sends a device's add before its driver binds (and, for a USB device, before
                    // the generic driver sets its configuration): rules on what comes with the driver get
                    // their chance at the bind. A sysfs driver link seen meanwhile proves nothing.
                    tracker.AwaitBind(uevent.DevPath);
                }

                if (uevent.Action != UeventAction.Bind)
                {
                    // A bind routed as the add of its device was already audited as unmatched at the add.
                    AuditUnmatched(device);
                }
                if (uevent.Action == UeventAction.Remove && !dryRun)
                {
                    // Nothing routes it now, but what was done for it when it came still needs undoing.
                    await executor.ExecuteAsync(plan, device, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            plan = WithoutMountsOfVmDevices(plan, device);
            if (plan.IsEmpty)
            {
                return;
            }

            counters.Match();
            Log.Plan(logger, uevent.Coldplug ? "coldplug" : uevent.ActionText, uevent.DevPath, Describe(plan));
            AuditRouted(device, plan);
            if (dryRun)
            {
                return;
            }

            if (uevent.Coldplug)
            {
                // At start and after a resync the VMs' reconcile attaches what is wanted and
                // missing, comparing with what QEMU really has: attaching here as well would race it.
                plan = plan with { Actions = [.. plan.Actions.Where(a => a is not PlannedAttach)] };
            }

            await executor.ExecuteAsync(plan, device, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            counters.Fail();
            Log.EventFailed(logger, uevent.ActionText, uevent.DevPath, e);
        }
    }

    /// <summary>
    /// A partition or disk whose USB device the rules send to a VM is not also mounted on the host:
    /// the two arrive as separate events (usb, then block), so the first-decides rule alone cannot
    /// see it. Mounting it would hand one filesystem to two kernels at once.
    /// </summary>
    private Plan WithoutMountsOfVmDevices(Plan plan, DeviceView device)
    {
        if (device.Identity.UsbDevPath is not { } usbPath || usbPath == device.DevPath || !plan.Actions.Any(a => a is PlannedMount))
        {
            return plan;
        }

        DeviceView? usb = tracker.TryGet(usbPath, out TrackedDevice? tracked) && tracked.View is { } known
            ? known
            : coldplug.TryRead(usbPath) is { } uevent ? views.Create(uevent) : null;
        if (usb is null || rules.Current.Evaluate(usb).Actions.OfType<PlannedAttach>().FirstOrDefault() is not { } attach)
        {
            return plan;
        }

        foreach (PlannedMount mount in plan.Actions.OfType<PlannedMount>())
        {
            using var record = new AuditRecord(audit, AuditTypes.DeviceMount, device.Event.ReceivedTimestamp).WithEvent(device.Event).WithIdentity(device.Identity);
            record.Rule = mount.Rule;
            record.Action = "skip";
            record.Target = mount.RelativePath;
            record.Set("reason", $"its USB device goes to VM {attach.Vm} (rule {attach.Rule})");
            record.Succeed();
        }

        return plan with { Actions = [.. plan.Actions.Where(a => a is not PlannedMount)] };
    }

    private async Task WatchOverflowsAsync(IUeventSource source, CancellationToken cancellationToken)
    {
        await foreach (UeventOverflow overflow in source.Overflows.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            counters.Resync();
            Log.Overflow(logger, overflow.Kind.ToString(), overflow.MissingEvents);
            if (_overflowAudit.TryAcquire(out long suppressed))
            {
                using var record = new AuditRecord(audit, AuditTypes.SourceOverflow, overflow.Timestamp);
                record.Action = "resync";
                record.Set("kind", overflow.Kind.ToString());
                record.Set("missing", (long)overflow.MissingEvents);
                record.Set(AuditKeys.Suppressed, suppressed);
                record.Succeed();
            }

            // Events read before the loss may still wait in their device's queue, and the tracker
            // learns of a device only when its event runs: a snapshot taken now would miss a device
            // that was added and then pulled while its remove was lost, leaving it attached.
            await queue.DrainAsync(cancellationToken).ConfigureAwait(false);
            Resync(cancellationToken);
        }
    }

    /// <summary>
    /// Design §3: spoofed or malformed messages are dropped and counted (by the source), with a
    /// rate-limited audit warning (here), so a flood leaves a few records saying how many, not one each.
    /// </summary>
    private async Task WatchRejectsAsync(IUeventSource source, CancellationToken cancellationToken)
    {
        await foreach (UeventReject reject in source.Rejects.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_rejectAudit.TryAcquire(reject.Timestamp, out long suppressed))
            {
                continue;
            }

            using var record = new AuditRecord(audit, AuditTypes.SourceReject, reject.Timestamp);
            record.Severity = SyslogSeverity.Warning;
            record.Action = "drop";
            record.Set("source", reject.Source.ToString().ToLowerInvariant());
            record.Set("reason", reject.Reason.ToString());
            record.Set("length", reject.Length);
            record.Set("sender_pid", reject.SenderPid);
            record.Set("uid", reject.Uid == uint.MaxValue ? null : reject.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            record.Set("dropped_total", source.Counters.Untrusted + source.Counters.Malformed);
            record.Set(AuditKeys.Suppressed, suppressed);
            record.Succeed();
        }
    }

    /// <summary>
    /// After lost events: devices that vanished get a made-up <c>remove</c>, present ones a coldplug
    /// <c>add</c> (idempotent downstream), then the VMs are reconciled once the queue has run.
    /// </summary>
    public void Resync(CancellationToken cancellationToken)
    {
        var present = coldplug.ListDevices();
        IReadOnlyList<Uevent> gone = tracker.MissingSince(present.Select(p => p.DevPath));
        foreach (Uevent remove in gone)
        {
            Dispatch(remove);
        }

        Coldplug(cancellationToken);
        Log.Resync(logger, present.Count, gone.Count);
        _ = Task.Run(
            async () =>
            {
                await queue.DrainAsync(cancellationToken).ConfigureAwait(false);
                await reconcile.ReconcileAllAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);
    }

    private void AuditRouted(DeviceView device, Plan plan)
    {
        using var record = new AuditRecord(audit, AuditTypes.EventRouted, device.Event.ReceivedTimestamp).WithEvent(device.Event).WithIdentity(device.Identity);
        record.Rule = string.Join(',', plan.Actions.Select(a => a.Rule).Distinct());
        record.Action = dryRun ? "dry-run" : "route";
        record.Target = string.Join("; ", plan.Actions.Select(a => a.Describe()));
        record.Succeed();
    }

    private void AuditUnmatched(DeviceView device)
    {
        // Only what a rule could be written for, and only live adds: a coldplug of every loop
        // device or partition at each start would bury the records that matter.
        if (device.Event.Coldplug || device.Event.Action != UeventAction.Add)
        {
            return;
        }

        if (!(device.Subsystem == "usb" && device.DevType == "usb_device") && device.Subsystem != "block")
        {
            return;
        }

        using var record = new AuditRecord(audit, AuditTypes.EventUnmatched, device.Event.ReceivedTimestamp).WithEvent(device.Event).WithIdentity(device.Identity);
        record.Action = "none";
        record.Succeed();
    }

    private static string Describe(Plan plan) => string.Join("; ", plan.Actions.Select(a => $"{a.Describe()} (rule {a.Rule})"));
}
