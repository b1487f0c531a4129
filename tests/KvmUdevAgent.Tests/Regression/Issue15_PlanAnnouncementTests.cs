using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Daemon;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 15: a routed plan's log line and <c>event.routed</c> record are written once QEMU has
/// answered the attach, neither on the way there nor while QEMU works on it. The order of what the
/// outside world sees does not change: the routed record (and the plan's line) still come before the
/// attach's own record and line, once each, whether the attach succeeds, QEMU refuses it, or it fails
/// before any command is sent.
/// </summary>
public sealed class Issue15_PlanAnnouncementTests
{
    [Fact]
    public async Task KernelDriveAttached_RoutedRecordAndPlanLineComeBeforeTheAttach()
    {
        string token = "a" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await StartAttachingToWinxpAsync(env, token, readOnly: true);

        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
        // QEMU's own answer: the device is there.
        await env.WaitForDevicesAsync(d => d.Count == 1);
        await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(20));

        AssertRoutedFirst(env.Syslog.ReadAll(), DevPath(loop), "success");
        // The log goes out through its own queue, after the audit record may have arrived: wait for the
        // attach's line; the plan's, queued before it, is there by then if the order holds.
        await env.Daemon!.WaitForLogAsync("attach " + DevPath(loop) + " (winxp): attached", TimeSpan.FromSeconds(20));
        string log = env.Daemon.Stderr;
        int plan = log.IndexOf("Plan for add " + DevPath(loop) + ":", StringComparison.Ordinal);
        int done = log.IndexOf("attach " + DevPath(loop) + " (winxp): attached", StringComparison.Ordinal);
        Assert.True(plan >= 0 && done > plan, "the plan's line must come before the attach's:\n" + log);

        loop.TriggerUevent("remove", Guid.NewGuid(), ("RUNID", token));
        await env.WaitForDevicesAsync(d => d.Count == 0);
    }

    [Fact]
    public async Task VmWithoutMonitor_AttachFails_RoutedRecordStillComesFirst()
    {
        string token = "f" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        string absent = Path.Combine(Path.GetTempPath(), "kua-absent-" + Guid.NewGuid().ToString("N")[..8] + ".qmp");
        env.WriteRules("10-attach.yaml", $$"""
            rules:
              - name: to-absent
                match: { subsystem: block, props: { SYNTH_ARG_RUNID: "{{token}}" } }
                attach: { vm: absent, as: usb-storage, read_only: true }
            """);
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys", extraVms: "  absent: { monitor: \"unix:" + absent + "\" }\n");
        await env.StartDaemonAsync();
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));

        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
        await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(20));

        AssertRoutedFirst(env.Syslog.ReadAll(), DevPath(loop), "failure");
        // Nothing reached the VM that is there.
        Assert.Empty(await env.WaitForDevicesAsync(_ => true));
    }

    [Fact]
    public async Task QemuRefusesTheDrive_RoutedRecordAndPlanLineStillComeFirst()
    {
        // Said once QEMU has answered: here its answer is an error (a read-only loop device attached
        // read-write), and the plan is still announced exactly once, before the attach's record.
        string token = "r" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        await using LoopDevice loop = await LoopDevice.CreateAsync(readOnly: true);
        await StartAttachingToWinxpAsync(env, token, readOnly: false);

        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
        await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(20));

        IReadOnlyList<ReceivedSyslogMessage> all = env.Syslog.ReadAll();
        AssertRoutedFirst(all, DevPath(loop), "failure");
        Assert.Single(all, m => m.MsgId == "event.routed" && Sd(m)["devpath"] == DevPath(loop));
        await env.Daemon!.WaitForLogAsync("Plan for add " + DevPath(loop) + ":", TimeSpan.FromSeconds(20));
        string log = env.Daemon.Stderr;
        int plan = log.IndexOf("Plan for add " + DevPath(loop) + ":", StringComparison.Ordinal);
        Assert.True(log.IndexOf("Plan for add " + DevPath(loop) + ":", plan + 1, StringComparison.Ordinal) < 0, "the plan's line once:\n" + log);
        // QEMU's own answer: nothing of ours is there.
        Assert.Empty(await env.WaitForDevicesAsync(_ => true));
    }

    /// <summary>A kernel-source daemon whose rule attaches the block device of <paramref name="token"/>'s events to winxp.</summary>
    private static async Task StartAttachingToWinxpAsync(DaemonEnvironment env, string token, bool readOnly)
    {
        env.WriteRules("10-attach.yaml", $$"""
            rules:
              - name: to-winxp
                match: { subsystem: block, props: { SYNTH_ARG_RUNID: "{{token}}" } }
                attach: { vm: winxp, as: usb-storage, read_only: {{(readOnly ? "true" : "false")}} }
            """);
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys");
        await env.StartDaemonAsync();
        // The monitor connects after start: the attach must be the live path, not the reconcile's.
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
    }

    /// <summary>The first records of <paramref name="devPath"/>'s add: event.routed, then device.attach with <paramref name="outcome"/>.</summary>
    private static void AssertRoutedFirst(IReadOnlyList<ReceivedSyslogMessage> all, string devPath, string outcome)
    {
        var mine = all.Where(m => m.MsgId is "event.routed" or "device.attach" && Sd(m)["devpath"] == devPath && Sd(m)["event"] == "add").ToList();
        Assert.True(mine.Count >= 2, "expected event.routed and device.attach for " + devPath + ", got: " + string.Join(", ", mine.Select(m => m.MsgId)));
        Assert.Equal("event.routed", mine[0].MsgId);
        Assert.Equal("device.attach", mine[1].MsgId);
        Assert.True(outcome == Sd(mine[1])["outcome"], "device.attach: " + mine[1].Raw);
    }

    private static string DevPath(LoopDevice loop) => "/devices/virtual/block/" + loop.Name;

    private static ParsedSdElement Sd(ReceivedSyslogMessage m) => m.Element("kua@32473");
}
