using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Reliability;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Found in issue 15's full test runs (the kernel spoofing test's hook ran twice for one plug): a
/// resync after lost events feeds every present device through the rules again as a coldplug
/// <c>add</c>, and the hooks of a device whose own add had been handled ran a second time. A SEQNUM
/// gap is enough for a resync, and a host whose containers create network namespaces has them
/// without any loss, so a hook could run at any time for a drive plugged long before. Fixture USB
/// devices, udev-format messages, the real hook process.
/// </summary>
public sealed class Issue15_ResyncHookOnceTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Issue15_ResyncAfterLostEvents_KnownDevicesHookNotRunAgain_LostPlugsHookRuns()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string hooks = Path.Combine(env.Work, "hooks");
        Directory.CreateDirectory(hooks);
        string record = HookScenarioTests.Script(hooks, "record.sh", "#!/bin/sh\nprintf '%s %s coldplug=%s\\n' \"$1\" \"$2\" \"$KUA_COLDPLUG\" >> \"$0.calls\"\n");
        string calls = record + ".calls";
        env.WriteRules("10-tell.yaml", $$"""
            rules:
              - name: tell
                match: { subsystem: usb, devtype: usb_device, vendor: "abcd" }
                hook: { run: ["{{record}}", "add", "{serial}"], on_remove: ["{{record}}", "remove", "{serial}"] }
            """);
        // The smallest receive buffer the config accepts, so that the overflow below is certain.
        env.WriteConfig(receiveBuffer: "4KiB");
        await env.StartDaemonAsync();
        await env.WaitForAuditAsync(m => m.MsgId == "agent.start", 1, s_timeout);

        var known = FaultTests.AddStormDrive(env, 1);
        env.InjectUdev(env.Sysfs.PlugEvents(known, udev: true));
        await env.WaitForAuditAsync(m => m.MsgId == "device.hook", 1, s_timeout);

        // Lost events: the daemon is frozen while a burst arrives that holds the plug of a second drive.
        var lost = FaultTests.AddStormDrive(env, 2);
        List<Uevent> burst = [.. Enumerable.Range(0, 200).Select(Issue17_SlowHookTests.Filler), .. env.Sysfs.PlugEvents(lost, udev: true)];
        await env.Daemon!.FreezeAsync();
        try
        {
            env.InjectUdev(burst);
        }
        finally
        {
            env.Daemon.Thaw();
        }

        await env.WaitForAuditAsync(m => m.MsgId == "source.overflow", 1, s_timeout);
        await env.Daemon.WaitForLogAsync("Resync:", s_timeout);

        // The known drive is pulled after the resync: its remove runs in its own queue behind whatever the
        // resync gave it, so once on_remove has run, a second add hook would have run before it.
        env.InjectUdev(env.Sysfs.UnplugEvents(known, udev: true));
        env.Sysfs.Unplug(known);
        await env.WaitForAuditAsync(m => m.MsgId == "device.hook", 3, s_timeout);

        string[] lines = File.ReadAllLines(calls);
        string[] knownCalls = [.. lines.Where(l => l.Contains(" S1 ", StringComparison.Ordinal))];
        Assert.True(knownCalls.SequenceEqual(["add S1 coldplug=0", "remove S1 coldplug=0"]), $"hook calls:\n{string.Join('\n', lines)}\ndaemon log:\n{env.Daemon.Stderr}");
        // The second drive's plug may have been read before the loss or found by the resync: once either way.
        Assert.Single(lines, l => l.StartsWith("add S2 ", StringComparison.Ordinal));
    }
}
