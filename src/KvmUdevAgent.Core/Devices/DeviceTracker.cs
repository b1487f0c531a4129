using System.Collections.Concurrent;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// Event hygiene per devpath (design §3). Kernels 4.14+ follow each <c>add</c> with a <c>bind</c>
/// and precede each <c>remove</c> with an <c>unbind</c>; these do not route, so one plug yields one
/// add. The exception is a device whose live add routed nothing while its driver was not bound yet:
/// its <c>bind</c> is routed once as its add, the first event at which <c>driver</c> is known. A live
/// <c>add</c> for a devpath already present is a duplicate and does not route either, but a coldplug (start or resync) <c>add</c> always does: after an overflow the device at that
/// path may be another one, and everything downstream is idempotent. The identity seen at
/// <c>add</c> is remembered so the <c>remove</c>, whose sysfs directory is gone and which carries
/// few properties, can still be routed by vendor, product and serial. Thread-safe.
/// </summary>
internal sealed class DeviceTracker
{
    private readonly ConcurrentDictionary<string, TrackedDevice> _devices = new(StringComparer.Ordinal);

    /// <summary>Number of devices believed present.</summary>
    public int Count => _devices.Count;

    /// <summary>A snapshot of the devices believed present, ordered by devpath (parents first).</summary>
    public IReadOnlyList<TrackedDevice> Present
    {
        get
        {
            var list = _devices.Values.ToList();
            list.Sort(static (a, b) => string.CompareOrdinal(a.DevPath, b.DevPath));
            return list;
        }
    }

    public bool TryGet(string devPath, out TrackedDevice device) => _devices.TryGetValue(devPath, out device!);

    /// <summary>
    /// Classifies <paramref name="uevent"/> and updates what is present: an add reserves its devpath,
    /// a remove forgets it and hands back the identity remembered for it, a move follows the rename.
    /// </summary>
    public DeviceDecision Classify(Uevent uevent)
    {
        string devPath = uevent.DevPath;
        switch (uevent.Action)
        {
            case UeventAction.Add:
                // A second add for a present devpath is a re-announcement (udevadm trigger, a
                // synthetic uevent, a resync): it routes again, and everything downstream is
                // idempotent (attach finds the device present, mount finds it mounted). What must
                // not route twice are bind/unbind, which follow every real add and remove.
                // Keep what we knew until the new view replaces it.
                Reserve(uevent);
                return new DeviceDecision(DeviceEventKind.Add, null);

            case UeventAction.Remove:
                return new DeviceDecision(DeviceEventKind.Remove, _devices.TryRemove(devPath, out TrackedDevice? gone) ? gone.Identity : null);

            case UeventAction.Change:
                // A change for a device we never saw added (started after it, or its add was lost):
                // start tracking it so its remove finds an identity.
                Reserve(uevent);
                return new DeviceDecision(DeviceEventKind.Change, null);

            case UeventAction.Move:
                string? oldPath = uevent.GetKnownString(UeventKnownKeys.DevPathOld);
                if (oldPath is not null && _devices.TryRemove(oldPath, out TrackedDevice? moved))
                {
                    _devices[devPath] = moved with { DevPath = devPath };
                }

                return new DeviceDecision(DeviceEventKind.Move, null);

            case UeventAction.Bind:
                // The first event at which the driver is known, for a device whose add routed nothing
                // without it: it routes as that add, once (see AwaitBind).
                while (_devices.TryGetValue(devPath, out TrackedDevice? waiting) && waiting.AwaitsBind)
                {
                    if (_devices.TryUpdate(devPath, waiting with { AwaitsBind = false }, waiting))
                    {
                        return new DeviceDecision(DeviceEventKind.Add, null);
                    }
                }

                return new DeviceDecision(DeviceEventKind.Binding, null);

            case UeventAction.Unbind:
                return new DeviceDecision(DeviceEventKind.Binding, null);

            default:
                return new DeviceDecision(DeviceEventKind.Ignored, null);
        }
    }

    // A devpath already present keeps its entry, and costs no new one (issue 15: an add or change per event).
    private void Reserve(Uevent uevent)
    {
        if (!_devices.ContainsKey(uevent.DevPath))
        {
            _devices.TryAdd(uevent.DevPath, new TrackedDevice(uevent.DevPath, uevent.Subsystem, uevent.DevType, null));
        }
    }

    /// <summary>
    /// Marks a present device whose live add routed nothing while its driver was not bound yet: its
    /// next <c>bind</c> is routed as its add (never twice: an add that routed something is final).
    /// </summary>
    public void AwaitBind(string devPath)
    {
        while (_devices.TryGetValue(devPath, out TrackedDevice? current) && !current.AwaitsBind)
        {
            if (_devices.TryUpdate(devPath, current with { AwaitsBind = true }, current))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Stores the identity of a built view for its devpath, if the device is still present (a remove
    /// that raced ahead is not undone).
    /// </summary>
    public void Remember(DeviceView view)
    {
        while (_devices.TryGetValue(view.DevPath, out TrackedDevice? current))
        {
            // The view kept is the add's: reconcile and 'devices' evaluate the rules on it as a plug,
            // and a later change event (media, partition table) must not turn that into "not routed".
            var updated = current with
            {
                Identity = KeepFilesystem(view.Identity, current.Identity),
                Subsystem = view.Subsystem,
                DevType = view.DevType,
                View = view.Event.Action == UeventAction.Add ? view : current.View ?? view,
                Unviewed = null,
            };
            if (_devices.TryUpdate(view.DevPath, updated, current))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Classifies the event and, when it routes, builds its view (with the remembered identity for a
    /// remove) and remembers the identity of an add or change. The one call the pipeline needs.
    /// <paramref name="needsFilesystem"/> says whether a rule that uses the filesystem can still match a
    /// view (the blkid probe runs only then); null probes always.
    /// </summary>
    public async ValueTask<DeviceObservation> ObserveAsync(Uevent uevent, DeviceViewFactory factory, CancellationToken cancellationToken, Func<DeviceView, bool>? needsFilesystem = null)
    {
        DeviceDecision decision = Classify(uevent);
        if (!decision.Routes)
        {
            return new DeviceObservation(decision.Kind, null);
        }

        if (decision.Kind == DeviceEventKind.Add && uevent.Action == UeventAction.Bind)
        {
            // Rules see the late add as an add: the same rules apply, now with the driver known.
            uevent = Uevent.Create(uevent.Source,
                uevent.Properties.Select(p => p.Key == UeventKeys.Action ? new KeyValuePair<string, string>(p.Key, "add") : p), uevent.Coldplug, uevent.ReceivedTimestamp);
        }

        DeviceView view = await factory.CreateAsync(uevent, decision.Remembered, needsFilesystem, cancellationToken).ConfigureAwait(false);
        if (decision.Kind is DeviceEventKind.Add or DeviceEventKind.Change)
        {
            Remember(view);
        }

        return new DeviceObservation(decision.Kind, view);
    }

    /// <summary>
    /// A <c>change</c> no rule needed the probe for (rules without <c>action:</c> do not see changes)
    /// keeps the filesystem the add knew: the remove reverses the add's rules with it (an
    /// <c>on_remove</c> hook's <c>{fs_label}</c>).
    /// </summary>
    private static DeviceIdentity KeepFilesystem(DeviceIdentity fresh, DeviceIdentity? known) =>
        fresh.FsProbeSkipped && known is { FsProbeSkipped: false } && (known.FsLabel ?? known.FsUuid ?? known.FsType) is not null
            ? fresh with { FsLabel = known.FsLabel, FsUuid = known.FsUuid, FsType = known.FsType, FsProbeSkipped = false }
            : fresh;

    /// <summary>Whether the device is present with a built view (its removes and changes are always read).</summary>
    public bool HasView(string devPath) => _devices.TryGetValue(devPath, out TrackedDevice? d) && d.View is not null;

    /// <summary>
    /// Classifies an <c>add</c> or <c>change</c> no rule can match without building its view: the
    /// device is known present as before (a resync's made-up remove, <c>devices</c>' count), and the
    /// event is kept for <see cref="CompleteAsync"/> should the rules change.
    /// </summary>
    public void ObserveUnviewed(Uevent uevent)
    {
        if (!Classify(uevent).Routes)
        {
            return;
        }

        while (_devices.TryGetValue(uevent.DevPath, out TrackedDevice? current) && current.View is null)
        {
            if (_devices.TryUpdate(uevent.DevPath, current with { Unviewed = uevent }, current))
            {
                return;
            }
        }
    }

    /// <summary>
    /// After the rules changed: builds the view of a device whose events were not read (no rule could
    /// match them then) or probes the filesystem of one built without it, when the rules in
    /// <paramref name="mayMatch"/> and <paramref name="needsFilesystem"/> now want them. True when the
    /// tracker's view of the device changed.
    /// </summary>
    public async ValueTask<bool> CompleteAsync(string devPath, DeviceViewFactory factory, Func<Uevent, bool> mayMatch, Func<DeviceView, bool> needsFilesystem, CancellationToken cancellationToken)
    {
        if (!_devices.TryGetValue(devPath, out TrackedDevice? tracked))
        {
            return false;
        }

        DeviceView view;
        if (tracked.View is null && tracked.Unviewed is { } unviewed && mayMatch(unviewed))
        {
            view = await factory.CreateAsync(unviewed, null, needsFilesystem, cancellationToken).ConfigureAwait(false);
        }
        else if (tracked.View is { Identity.FsProbeSkipped: true } unprobed && needsFilesystem(unprobed))
        {
            view = await factory.CompleteAsync(unprobed, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            return false;
        }

        while (_devices.TryGetValue(devPath, out TrackedDevice? current) && ReferenceEquals(current.View, tracked.View))
        {
            if (_devices.TryUpdate(devPath, current with { Identity = view.Identity, View = view, Unviewed = null }, current))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// After a resync: the <c>remove</c> events for devices believed present that are no longer in
    /// <paramref name="presentDevPaths"/> (their remove was lost in an overflow), children first.
    /// Feed them through <see cref="ObserveAsync"/> like any other event.
    /// </summary>
    public IReadOnlyList<Uevent> MissingSince(IEnumerable<string> presentDevPaths)
    {
        var present = presentDevPaths as IReadOnlySet<string> ?? new HashSet<string>(presentDevPaths, StringComparer.Ordinal);
        var missing = _devices.Values.Where(d => !present.Contains(d.DevPath)).ToList();
        missing.Sort(static (a, b) => string.CompareOrdinal(b.DevPath, a.DevPath));
        return [.. missing.Select(MadeUpRemove)];
    }

    /// <summary>A <c>remove</c> for <paramref name="devPath"/> if it is believed present (its own was lost); null if not.</summary>
    public Uevent? MissingRemove(string devPath) => _devices.TryGetValue(devPath, out TrackedDevice? d) ? MadeUpRemove(d) : null;

    private static Uevent MadeUpRemove(TrackedDevice d)
    {
        var props = new List<KeyValuePair<string, string>>
        {
            new(UeventKeys.Action, "remove"),
            new(UeventKeys.DevPath, d.DevPath),
            new(UeventKeys.Subsystem, d.Subsystem),
        };
        if (d.DevType is not null)
        {
            props.Add(new(UeventKeys.DevType, d.DevType));
        }

        return Uevent.Create(UeventSource.Sysfs, props, coldplug: true, System.Diagnostics.Stopwatch.GetTimestamp());
    }
}
