using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Agent;

/// <summary>Lost events: an overflow of the netlink socket, or of one device's queue; and the resync that follows.</summary>
internal sealed partial class EventPipeline
{
    private long _takenFromSource;
    private CatchUp? _catchUp;

    private async Task WatchOverflowsAsync(IUeventSource source, CancellationToken cancellationToken)
    {
        await foreach (UeventOverflow overflow in source.Overflows.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            _counters.Resync();
            Log.Overflow(_logger, overflow.Kind.ToString(), overflow.MissingEvents);
            if (_overflowAudit.TryAcquire(out long suppressed))
            {
                using var record = new AuditRecord(_audit, AuditTypes.SourceOverflow, overflow.Timestamp);
                record.Action = "resync";
                record.Set("kind", overflow.Kind.ToString());
                record.Set("missing", (long)overflow.MissingEvents);
                record.Set(AuditKeys.Suppressed, suppressed);
                record.Succeed();
            }

            // Events read before the loss may still wait in the source's ring or in their device's
            // queue, and the tracker learns of a device only when its event is read: a snapshot taken
            // now would miss a device that was added and then pulled while its remove was lost,
            // leaving it attached. Reading waits for no action, so a running hook does not hold this
            // up (issue 17).
            await TakenFromSourceAsync(overflow.AcceptedBefore, cancellationToken).ConfigureAwait(false);
            await ObservedAsync(cancellationToken).ConfigureAwait(false);
            Resync(cancellationToken);
        }
    }

    /// <summary>Counts an event taken from the source and dispatched, and wakes a resync waiting for it.</summary>
    private void TookFromSource()
    {
        long taken = Interlocked.Increment(ref _takenFromSource);
        if (Volatile.Read(ref _catchUp) is { } waiter && taken >= waiter.Target)
        {
            waiter.Done.TrySetResult();
        }
    }

    /// <summary>Completes once <paramref name="count"/> events have been taken from the source and dispatched.</summary>
    private Task TakenFromSourceAsync(long count, CancellationToken cancellationToken)
    {
        var waiter = new CatchUp(count, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Volatile.Write(ref _catchUp, waiter);
        if (Interlocked.Read(ref _takenFromSource) >= count)
        {
            waiter.Done.TrySetResult();
        }

        return waiter.Done.Task.WaitAsync(cancellationToken);
    }

    private sealed record CatchUp(long Target, TaskCompletionSource Done);

    /// <summary>
    /// After lost events: devices that vanished get a made-up <c>remove</c>, present ones a coldplug
    /// <c>add</c> (idempotent downstream), then the VMs are reconciled once all of it has been read.
    /// </summary>
    public void Resync(CancellationToken cancellationToken)
    {
        var present = _coldplug.ListDevices();
        IReadOnlyList<Uevent> gone = _tracker.MissingSince(present.Select(p => p.DevPath));
        foreach (Uevent remove in gone)
        {
            Dispatch(remove);
        }

        foreach (Uevent uevent in _coldplug.Enumerate(cancellationToken))
        {
            Dispatch(KeepLastProperties(uevent));
        }

        Log.Resync(_logger, present.Count, gone.Count);
        _ = Task.Run(
            async () =>
            {
                await ObservedAsync(cancellationToken).ConfigureAwait(false);
                await _reconcile.ReconcileAllAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);
    }

    /// <summary>
    /// A device still present keeps what its last event said and sysfs cannot (a synthetic uevent's
    /// <c>SYNTH_ARG_*</c>, udev's properties): a resync recovers lost events, it must not forget the
    /// properties a rule routed the device by, or the reconcile that follows detaches it. SEQNUM gaps
    /// are common on a host whose containers create network namespaces (their net devices' events
    /// take sequence numbers the host never sees), so this happens without any real loss. For the same
    /// reason the event is marked as one of a device known before: its hooks ran at its add, and a
    /// resync must not run them again (a hook would otherwise run at every gap).
    /// </summary>
    private Uevent KeepLastProperties(Uevent fromSysfs)
    {
        if (!_tracker.TryGet(fromSysfs.DevPath, out TrackedDevice? tracked) || (tracked.View?.Event ?? tracked.Unviewed) is not { } last)
        {
            return fromSysfs;
        }

        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> property in last.Properties)
        {
            if (property.Key is not (UeventKeys.Action or UeventKeys.SeqNum))
            {
                merged[property.Key] = property.Value;
            }
        }

        foreach (KeyValuePair<string, string> property in fromSysfs.Properties)
        {
            merged[property.Key] = property.Value;
        }

        return Uevent.Create(fromSysfs.Source, merged, fromSysfs.Coldplug, fromSysfs.ReceivedTimestamp, knownBefore: true);
    }

    /// <summary>
    /// A device's queue was full (more events than <see cref="Actions.KeyedSerialQueue.DefaultMaxPending"/>
    /// waiting behind a slow action): its waiting events were dropped and one resync of the device
    /// took their place. Logged and audited, rate-limited like the socket's overflows.
    /// </summary>
    private void QueueOverflowed(string devPath)
    {
        _counters.Resync();
        Log.DeviceQueueOverflow(_logger, devPath, QueueDropped);
        if (_overflowAudit.TryAcquire(out long suppressed))
        {
            using var record = new AuditRecord(_audit, AuditTypes.SourceOverflow);
            record.DevPath = devPath;
            record.Action = "resync";
            record.Set("kind", "DeviceQueue");
            record.Set("dropped_total", QueueDropped);
            record.Set(AuditKeys.Suppressed, suppressed);
            record.Succeed();
        }
    }

    /// <summary>
    /// Finds out afresh what a device whose events were dropped needs: present in sysfs, a coldplug
    /// <c>add</c>; gone but believed present, a made-up <c>remove</c>; then the VMs are reconciled.
    /// Runs in the device's own queue, in event order.
    /// </summary>
    private async Task ResyncDeviceAsync(string devPath, CancellationToken cancellationToken)
    {
        if ((_coldplug.TryRead(devPath) ?? _tracker.MissingRemove(devPath)) is not { } uevent)
        {
            return;
        }

        await ObserveAsync(uevent, cancellationToken).ConfigureAwait(false);
        if (!_dryRun)
        {
            _ = Task.Run(() => _reconcile.ReconcileAllAsync(cancellationToken), cancellationToken);
        }
    }
}
