using System.Diagnostics;
using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>The latency bench's turns: one attach by one contender, timed by the poll and by QEMU's own clock.</summary>
internal static partial class LatencyBenchmark
{
    /// <summary>
    /// Before each turn: udevd has handled every uevent so far (the last turn's <c>remove</c>), and a
    /// short pause lets the agent finish what it does after a detach, so that no turn pays for the one
    /// before it: the order rotates, but each contender always follows the same one.
    /// </summary>
    private static async Task QuietAsync(PrivateUdevd udevd)
    {
        await udevd.SettleAsync();
        await Task.Delay(s_quietPause);
    }

    /// <summary>
    /// One floor attach: the clock runs from just before the write to the device listed by the
    /// harness's poll (as for the others), to both answers, and to QEMU's own trace of the attach. The
    /// poll starts as soon as the commands are written, as the agent's starts with the uevent, so that
    /// QEMU serves the harness's <c>qom-list</c> while it works on the floor's commands as it does on
    /// the agent's (issue 15, third round); <paramref name="pollWhileQemuWorks"/> false polls only
    /// once both are answered, the floor of earlier rounds, which QEMU did not have to share with the
    /// poll. With <paramref name="uevent"/> the harness first writes an <c>add</c> with those arguments
    /// to the floor drive's uevent file (and a <c>remove</c> after, as the agent's turn does), so that
    /// the udevds and the kernel do for the floor what they do for the agent's event; no rule of the
    /// agent or of udevd matches it. The clock starts before that write, as for the agent.
    /// </summary>
    private static async Task<(double Seen, double Answered, double? Attached)> FloorOnceAsync(FloorQmp floor, LoopDevice loop, int n, HarnessQmp qmp, QemuAttachTrace trace, bool pollWhileQemuWorks = true, (string Key, string Value)[]? uevent = null)
    {
        string id = "flr" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        TraceAnchor t0 = TraceAnchor.Now();
        if (uevent is not null)
        {
            loop.TriggerUevent("add", Guid.NewGuid(), uevent);
        }

        // Up to its first wait (both commands written) the attach runs on this thread.
        Task<long> answering = floor.AttachAsync(id, loop.DevicePath);
        if (!pollWhileQemuWorks)
        {
            await answering;
        }

        long seen = await qmp.PollUntilAsync("flr", names => names.Contains(id), s_lostAfter, PollPauseMicroseconds)
            ?? throw new InvalidOperationException("QEMU answered the floor's device_add but does not list " + id);
        long answered = await answering;
        double? attached = TracedSince(trace, t0);
        await floor.DetachAsync(id);
        if (uevent is not null)
        {
            loop.TriggerUevent("remove", Guid.NewGuid(), uevent);
        }

        return (Stopwatch.GetElapsedTime(t0.Ticks, seen).TotalMilliseconds, Stopwatch.GetElapsedTime(t0.Ticks, answered).TotalMilliseconds, attached);
    }

    /// <summary>
    /// The floor's commands sent the moment udevd's broadcast of its drive's <c>add</c> arrives, from the
    /// broadcast clock's thread (as the agent with <c>source: udev</c> acts on its receive thread), so
    /// that udevd handles a uevent beside QEMU's work as it does for the agent. Returns broadcast →
    /// listed by the harness's poll (which starts at the uevent write, as for the agent), the figure to
    /// set beside the agent's share, and broadcast → QEMU's trace of the attach. A broadcast that does
    /// not come, or a device QEMU does not list, stops the run, as a floor attach QEMU does not list does.
    /// </summary>
    private static async Task<(double Seen, double? Attached)> FloorOnBroadcastOnceAsync(FloorQmp floor, LoopDevice loop, int n, string token, UdevBroadcastClock broadcasts, HarnessQmp qmp, QemuAttachTrace trace)
    {
        string id = "flb" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        (string, string)[] args = [("RUNID", token), ("N", n.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        var attach = new TaskCompletionSource<Task<long>>(TaskCreationOptions.RunContinuationsAsynchronously);
        broadcasts.ReactTo(n, () => attach.SetResult(floor.AttachAsync(id, loop.DevicePath)));
        Task<long?> broadcast = broadcasts.WhenBroadcastAsync(n, s_lostAfter);
        TraceAnchor t0 = TraceAnchor.Now();
        loop.TriggerUevent("add", Guid.NewGuid(), args);
        long sent = await broadcast ?? throw new InvalidOperationException($"udevd did not broadcast the floor's uevent within {s_lostAfter.TotalSeconds} s");
        long seen = await qmp.PollUntilAsync("flb", names => names.Contains(id), s_lostAfter, PollPauseMicroseconds)
            ?? throw new InvalidOperationException("QEMU does not list the floor's device " + id + " sent on udevd's broadcast");
        await await attach.Task;
        double? attached = TracedSince(trace, t0, sent);
        await floor.DetachAsync(id);
        loop.TriggerUevent("remove", Guid.NewGuid(), args);
        return (Stopwatch.GetElapsedTime(sent, seen).TotalMilliseconds, attached);
    }

    private static async Task<(double? Seen, double? Attached)> AgentOnceAsync(LoopDevice loop, HarnessQmp qmp, QemuAttachTrace trace, (string Key, string Value)[] args)
    {
        TraceAnchor t0 = TraceAnchor.Now();
        (double? seen, DateTime? attachedAt) = await AgentTurnAsync(loop, qmp, trace, args, t0);
        return (seen, attachedAt is { } at ? t0.MillisecondsTo(at) : null);
    }

    /// <summary>
    /// The agent's turn from <paramref name="t0"/>: uevent written → listed by the poll (ms; null if
    /// lost), and the wall-clock time of QEMU's trace of the attach (<see cref="QemuAttachTrace.TakeOne"/>).
    /// </summary>
    private static async Task<(double? Seen, DateTime? AttachedAt)> AgentTurnAsync(LoopDevice loop, HarnessQmp qmp, QemuAttachTrace trace, (string Key, string Value)[] args, TraceAnchor t0)
    {
        loop.TriggerUevent("add", Guid.NewGuid(), args);
        long? seen = await qmp.PollUntilAsync("kua-", names => names.Count > 0, s_lostAfter, PollPauseMicroseconds);
        double? ms = seen is { } t ? Stopwatch.GetElapsedTime(t0.Ticks, t).TotalMilliseconds : null;
        DateTime? attachedAt = trace.TakeOne();

        // Unplug: the agent detaches (device_del, DEVICE_DELETED, blockdev-del); the next attach
        // reuses the node name, so wait until QEMU has dropped the node as well.
        loop.TriggerUevent("remove", Guid.NewGuid(), args);
        if (await qmp.PollUntilAsync("kua-", names => names.Count == 0, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1)) is null)
        {
            throw new InvalidOperationException("the agent did not detach the loop device within 10 s");
        }

        var clock = Stopwatch.StartNew();
        while (await qmp.BlockNodeCountAsync("kua-") > 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException("the agent's block node stayed in QEMU for 10 s after the detach");
            }

            await Task.Delay(1);
        }

        return (ms, attachedAt);
    }

    private static async Task<(double? Seen, double? Attached)> UdevOnceAsync(LoopDevice loop, string token, int n, HarnessQmp qmp, QemuAttachTrace trace, PrivateUdevd udevd, TimeSpan lostAfter)
    {
        string id = "udv" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        TraceAnchor t0 = TraceAnchor.Now();
        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token), ("N", n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        long? seen = await qmp.PollUntilAsync("udv", names => names.Contains(id), lostAfter, PollPauseMicroseconds);
        double? ms = seen is { } t ? Stopwatch.GetElapsedTime(t0.Ticks, t).TotalMilliseconds : null;
        double? attached = TracedSince(trace, t0);

        // The seed does nothing on removal; the harness cleans up (the drive_add'ed drive goes with its device).
        await udevd.SettleAsync();
        await qmp.DeviceDelAsync(id);
        return (ms, attached);
    }

    /// <summary>
    /// From <paramref name="t0"/> (or from <paramref name="from"/>, on the harness's clock after it) to
    /// QEMU's trace of this turn's attach (<see cref="QemuAttachTrace.TakeOne"/>).
    /// </summary>
    private static double? TracedSince(QemuAttachTrace trace, TraceAnchor t0, long? from = null) =>
        trace.TakeOne() is not { } wall ? null
            : from is { } f ? t0.MillisecondsTo(wall, f)
            : t0.MillisecondsTo(wall);
}
