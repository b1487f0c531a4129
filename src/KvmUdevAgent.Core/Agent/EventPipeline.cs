using System.Collections.Immutable;
using System.Diagnostics;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// source → device view → rules → plan → per-device queues → executor. The netlink reader only
/// enqueues. Each device has two queues, run in event order: the first reads sysfs, updates the
/// tracker and builds the plan; the second carries the plan out (QEMU, mount, hooks). So one slow
/// device never stalls the others for longer than the synchronous part of its work (an idle
/// device's item starts on the thread that queues it, issue 15; whatever may block, the blkid probe,
/// runs aside), and a slow action (a hook that runs for an hour) never keeps the tracker from knowing
/// what is present: start-up and a resync wait for the first queues only, never for an action (issue 17).
/// </summary>
internal sealed partial class EventPipeline : IAsyncDisposable
{
    private readonly DeviceViewFactory _views;
    private readonly DeviceTracker _tracker;
    private readonly RuleStore _rules;
    private readonly PlanExecutor _executor;
    private readonly ColdplugEnumerator _coldplug;
    private readonly VmReconcileCoordinator _reconcile;
    private readonly IAuditWriter _audit;
    private readonly AgentCounters _counters;
    private readonly ILogger _logger;
    private readonly IPlanLog _planLog;
    private readonly bool _dryRun;
    private readonly KeyedSerialQueue _observe;
    private readonly KeyedSerialQueue _act;
    private readonly AuditRateLimiter _overflowAudit = new(5, TimeSpan.FromMinutes(1));
    private readonly AuditRateLimiter _rejectAudit = new(5, TimeSpan.FromMinutes(1));
    // The observe queue's item for an event, made once: the event is the item's state (no closure per event).
    private readonly Func<object?, CancellationToken, Task> _observeEvent;

    public EventPipeline(
        DeviceViewFactory views,
        DeviceTracker tracker,
        RuleStore rules,
        PlanExecutor executor,
        ColdplugEnumerator coldplug,
        VmReconcileCoordinator reconcile,
        IAuditWriter audit,
        AgentCounters counters,
        ILogger logger,
        IPlanLog planLog,
        bool dryRun,
        int maxQueuedPerDevice = KeyedSerialQueue.DefaultMaxPending)
    {
        _views = views;
        _tracker = tracker;
        _rules = rules;
        _executor = executor;
        _coldplug = coldplug;
        _reconcile = reconcile;
        _audit = audit;
        _counters = counters;
        _logger = logger;
        _planLog = planLog;
        _dryRun = dryRun;
        _observeEvent = (uevent, cancellationToken) => ObserveAsync((Uevent)uevent!, cancellationToken);
        _observe = new KeyedSerialQueue(maxQueuedPerDevice, devPath => cancellationToken => ResyncDeviceAsync(devPath, cancellationToken));
        _act = new KeyedSerialQueue(maxQueuedPerDevice, devPath => _ =>
        {
            // Plans were dropped: find out afresh, in event order, what the device needs now.
            EnqueueObserve(devPath, cancellationToken => ResyncDeviceAsync(devPath, cancellationToken), coalesce: false);
            return Task.CompletedTask;
        });
    }

    public DeviceTracker Tracker => _tracker;

    /// <summary>Devices with events being read or actions being carried out.</summary>
    public int BusyDevices => Math.Max(_observe.BusyKeys, _act.BusyKeys);

    /// <summary>Queued <c>change</c> events (and their plans) replaced by a newer one of the same device.</summary>
    public long Coalesced => _observe.Coalesced + _act.Coalesced;

    /// <summary>Events and plans dropped because a device's queue was full.</summary>
    public long QueueDropped => _observe.Dropped + _act.Dropped;

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
                TookFromSource();
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
        foreach (Uevent uevent in _coldplug.Enumerate(cancellationToken))
        {
            Dispatch(uevent);
            count++;
        }

        return count;
    }

    public void Dispatch(Uevent uevent)
    {
        _counters.Event();
        // Of a device's queued change events only the newest matters (media, partition table, a
        // property): a storm of them while an action runs costs one queued event, not a million.
        if (_observe.Enqueue(uevent.DevPath, _observeEvent, uevent, uevent.Action == UeventAction.Change) == EnqueueOutcome.Overflowed)
        {
            QueueOverflowed(uevent.DevPath);
        }
    }

    /// <summary>
    /// Completes when every event queued so far is known to the tracker and planned (its actions
    /// may still be running or waiting), or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public Task ObservedAsync(CancellationToken cancellationToken) => _observe.DrainAsync(cancellationToken);

    /// <summary>Completes when every event queued so far has been handled, actions included.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        // An observation queues its actions, so the first queues are drained before the second.
        await _observe.DrainAsync(cancellationToken).ConfigureAwait(false);
        await _act.DrainAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Cancels what runs and waits for it: the reading side first, since it queues actions.</summary>
    public async ValueTask DisposeAsync()
    {
        await _observe.DisposeAsync().ConfigureAwait(false);
        await _act.DisposeAsync().ConfigureAwait(false);
    }

    private void EnqueueObserve(string devPath, Func<CancellationToken, Task> work, bool coalesce)
    {
        if (_observe.Enqueue(devPath, work, coalesce) == EnqueueOutcome.Overflowed)
        {
            QueueOverflowed(devPath);
        }
    }

    private async Task ObserveAsync(Uevent uevent, CancellationToken cancellationToken)
    {
        try
        {
            RuleSet rules = _rules.Current;
            if (Unread(uevent, rules))
            {
                return;
            }

            DeviceObservation observation = await _tracker.ObserveAsync(uevent, _views, cancellationToken, rules.NeedsFilesystemCheck).ConfigureAwait(false);
            if (!observation.Routes || observation.View is not { } device)
            {
                return;
            }

            Plan plan = rules.Evaluate(device);
            if (uevent.KnownBefore)
            {
                // A resync's add of a device whose own add was not lost: its hooks ran then.
                plan = plan with { Actions = [.. plan.Actions.Where(a => a is not PlannedHook)] };
            }

            if (plan.IsEmpty)
            {
                if (uevent.Action == UeventAction.Add && !uevent.Coldplug && uevent.GetString(UeventKeys.Driver) is null)
                {
                    // The kernel sends a device's add before its driver binds (and, for a USB device, before
                    // the generic driver sets its configuration): rules on what comes with the driver get
                    // their chance at the bind. A sysfs driver link seen meanwhile proves nothing.
                    _tracker.AwaitBind(uevent.DevPath);
                }

                if (uevent.Action != UeventAction.Bind && AuditsUnmatched(uevent))
                {
                    // A bind routed as the add of its device was already audited as unmatched at the add.
                    // The record names the device for whoever writes a rule for it: with its label, even
                    // though no rule needed the probe.
                    AuditUnmatched(await _views.CompleteAsync(device, cancellationToken).ConfigureAwait(false));
                }
                if (uevent.Action == UeventAction.Remove && !_dryRun)
                {
                    // Nothing routes it now, but what was done for it when it came still needs undoing.
                    EnqueueAct(plan, device);
                }

                return;
            }

            plan = WithoutMountsOfVmDevices(plan, device);
            if (plan.IsEmpty)
            {
                return;
            }

            _counters.Match();
            // The plan's log line and its event.routed record are said by the plan's run once QEMU has
            // answered (an idle device's plan starts on this thread, below), not while QEMU works; in
            // any case before any record of its actions, and at once when the plan is handed on (issue 15).
            if (_dryRun)
            {
                Announce(uevent, device, plan, Stopwatch.GetTimestamp());
                return;
            }

            var announcement = new PlanAnnouncement(this, uevent, device, plan);

            if (uevent.Coldplug)
            {
                // At start and after a resync the VMs' reconcile attaches what is wanted and
                // missing, comparing with what QEMU really has: attaching here as well would race it.
                plan = plan with { Actions = [.. plan.Actions.Where(a => a is not PlannedAttach)] };
            }

            EnqueueAct(plan, device, announcement);
            if (!announcement.Taken)
            {
                // Queued behind the device's other work, coalesced or dropped: said now.
                announcement.Run();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _counters.Fail();
            Log.EventFailed(_logger, uevent.ActionText, uevent.DevPath, e);
        }
    }

    /// <summary>
    /// The plan's log line and <c>event.routed</c> record; <see cref="PlanAnnouncement"/> says them once.
    /// The record's <c>latency_ms</c> ends at <paramref name="routedTimestamp"/>, when the plan was made.
    /// </summary>
    internal void Announce(Uevent uevent, DeviceView device, Plan plan, long routedTimestamp)
    {
        // The plan's text is built only when the line is written.
        _planLog.Plan(uevent.Coldplug ? "coldplug" : uevent.ActionText, uevent.DevPath, plan);
        AuditRouted(device, plan, routedTimestamp);
    }

    /// <summary>
    /// An <c>add</c>, or a <c>change</c> of a device without a view, that no rule can match by what the
    /// event says (<see cref="RuleSet.MayMatch"/>) is not read (issue 15): no sysfs, no probe, no plan.
    /// The tracker still learns of it (and keeps the event, should the rules change), the USB cache
    /// still drops what it makes stale, and a live add still awaits its bind as an unmatched one does.
    /// Never skipped: removes (what was done for a device is undone whatever the rules say now), moves,
    /// binds, changes of a device with a view, a live add the audit records as unmatched, and an event
    /// of a device the state says is attached or mounted (<c>devices</c> lists it, with where it is).
    /// </summary>
    private bool Unread(Uevent uevent, RuleSet rules)
    {
        bool candidate = uevent.Action switch
        {
            UeventAction.Add => !AuditsUnmatched(uevent),
            UeventAction.Change => !_tracker.HasView(uevent.DevPath),
            _ => false,
        };
        if (!candidate || rules.MayMatch(uevent) || _executor.Holds(uevent.DevPath))
        {
            return false;
        }

        _views.Observe(uevent);
        _tracker.ObserveUnviewed(uevent);
        if (uevent.Action == UeventAction.Add && !uevent.Coldplug && uevent.GetString(UeventKeys.Driver) is null)
        {
            _tracker.AwaitBind(uevent.DevPath);
        }

        Log.Unread(_logger, uevent.ActionText, uevent.DevPath, rules.Generation);
        return true;
    }

    /// <summary>
    /// After the rules changed: the devices whose events were not read, or whose filesystem was not
    /// probed, get what the new rules need, each in its own queue (in order with its events).
    /// Completes once all of it is done (then reconcile sees them as it would have).
    /// </summary>
    public Task CompleteViewsAsync(CancellationToken cancellationToken)
    {
        RuleSet rules = _rules.Current;
        foreach (TrackedDevice tracked in _tracker.Present)
        {
            if (tracked.View is null ? tracked.Unviewed is null : !tracked.View.Identity.FsProbeSkipped)
            {
                continue;
            }

            string devPath = tracked.DevPath;
            EnqueueObserve(devPath, ct => _tracker.CompleteAsync(devPath, _views, rules.MayMatch, rules.NeedsFilesystemCheck, ct).AsTask(), coalesce: false);
        }

        return ObservedAsync(cancellationToken);
    }

    private void EnqueueAct(Plan plan, DeviceView device, PlanAnnouncement? announcement = null)
    {
        bool coalesce = device.Event.Action == UeventAction.Change;
        if (_act.Enqueue(device.DevPath, cancellationToken => ExecuteAsync(plan, device, announcement, cancellationToken), coalesce) == EnqueueOutcome.Overflowed)
        {
            QueueOverflowed(device.DevPath);
        }
    }

    private async Task ExecuteAsync(Plan plan, DeviceView device, PlanAnnouncement? announcement, CancellationToken cancellationToken)
    {
        announcement?.Take();
        try
        {
            await _executor.ExecuteAsync(plan, device, cancellationToken, announcement).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            announcement?.Run();
            _counters.Fail();
            Log.EventFailed(_logger, device.Event.ActionText, device.DevPath, e);
        }
        finally
        {
            // Cancelled at shutdown before the executor said it: said all the same.
            announcement?.Run();
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

        DeviceView? usb = _tracker.TryGet(usbPath, out TrackedDevice? tracked) && tracked.View is { } known
            ? known
            : _coldplug.TryRead(usbPath) is { } uevent ? _views.Create(uevent) : null;
        if (usb is null || _rules.Current.Evaluate(usb).Actions.OfType<PlannedAttach>().FirstOrDefault() is not { } attach)
        {
            return plan;
        }

        foreach (PlannedMount mount in plan.Actions.OfType<PlannedMount>())
        {
            using var record = new AuditRecord(_audit, AuditTypes.DeviceMount, device.Event.ReceivedTimestamp).WithEvent(device.Event).WithIdentity(device.Identity);
            record.Rule = mount.Rule;
            record.Action = "skip";
            record.Target = mount.RelativePath;
            record.Set("reason", $"its USB device goes to VM {attach.Vm} (rule {attach.Rule})");
            record.Succeed();
        }

        return plan with { Actions = [.. plan.Actions.Where(a => a is not PlannedMount)] };
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

            using var record = new AuditRecord(_audit, AuditTypes.SourceReject, reject.Timestamp);
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

    private void AuditRouted(DeviceView device, Plan plan, long routedTimestamp)
    {
        if (!_audit.IsEnabled)
        {
            return;
        }

        using var record = new AuditRecord(_audit, AuditTypes.EventRouted, device.Event.ReceivedTimestamp).WithEvent(device.Event).WithIdentity(device.Identity);
        record.EndTimestamp = routedTimestamp;
        record.Rule = plan.RuleNames();
        record.Action = _dryRun ? "dry-run" : "route";
        record.Target = plan.Describe();
        record.Succeed();
    }

    private void AuditUnmatched(DeviceView device)
    {
        if (!AuditsUnmatched(device.Event))
        {
            return;
        }

        using var record = new AuditRecord(_audit, AuditTypes.EventUnmatched, device.Event.ReceivedTimestamp).WithEvent(device.Event).WithIdentity(device.Identity);
        record.Action = "none";
        record.Succeed();
    }

    /// <summary>
    /// Only what a rule could be written for, and only live adds: a coldplug of every loop device or
    /// partition at each start would bury the records that matter.
    /// </summary>
    private bool AuditsUnmatched(Uevent uevent) =>
        _audit.IsEnabled && !uevent.Coldplug && uevent.Action == UeventAction.Add &&
        ((uevent.Subsystem == "usb" && uevent.DevType == "usb_device") || uevent.Subsystem == "block");
}
