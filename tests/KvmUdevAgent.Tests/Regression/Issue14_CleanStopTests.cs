using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 14: SIGTERM with syslog unreachable took 2.0 s (the audit queue's drain) and exited 143 in
/// 5 of 9 runs (System.CommandLine ends the process 2 s after SIGTERM), which systemd counts as a
/// failed stop. Now: exit 0 after a bounded flush, STOPPING=1 under NOTIFY_SOCKET, in-flight work
/// finished first, and the last log line counts the audit records that could not be delivered.
/// The time it takes is measured, not asserted (README, "Stopping"); here the bound is generous.
/// </summary>
public sealed class Issue14_CleanStopTests
{
    private static readonly TimeSpan s_generous = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Issue14_Sigterm_SyslogUnreachableVmsDown_ExitsZeroAndCountsUndelivered()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string noSyslog = "unix:" + Path.Combine(env.Work, "no-syslog.sock");
        env.WriteRules("50-mount.yaml", "rules:\n  - name: m\n    match: { fs_label: \"*\" }\n    mount: { path: \"{fs_label}\" }\n");
        env.WriteConfig(auditTarget: noSyslog, extraVms:
            $"  winxp: {{ monitor: \"unix:{Path.Combine(env.Work, "winxp.qmp")}\" }}\n  centos: {{ monitor: \"tcp:127.0.0.1:9\", protocol: hmp }}\n");
        DaemonProcess daemon = await env.StartDaemonAsync();

        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitForExitAsync(s_generous));
        AssertStoppedCleanly(daemon, noSyslog);
    }

    [Fact]
    public async Task Issue14_Sigterm_HookInFlightSyslogUnreachable_FinishesItThenExitsZero()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string noSyslog = "unix:" + Path.Combine(env.Work, "no-syslog.sock");
        string started = Path.Combine(env.Work, "hook.started");
        string release = Path.Combine(env.Work, "hook.release");
        string done = Path.Combine(env.Work, "hook.done");
        // The hook holds the device's queue until the test releases it: the stop certainly finds work in flight.
        env.WriteRules("30-hook.yaml", $$"""
            rules:
              - name: slow
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: ["/bin/sh", "-c", "touch {{started}}; while [ ! -e {{release}} ]; do sleep 0.02; done; touch {{done}}"], timeout: 1m }
            """);
        env.WriteConfig(auditTarget: noSyslog);
        DaemonProcess daemon = await env.StartDaemonAsync();
        var drive = env.Sysfs.UsbDevice(3, "2", "0781", "5567").Strings("SanDisk", "Cruzer", "S1").Interface(8, 6, 0x50, "usb-storage").Add();
        env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));
        await WaitForFileAsync(started, daemon);

        daemon.Signal(15);
        await daemon.WaitForLogAsync("Stopping: finishing 1 devices with work in flight", s_generous);
        Assert.False(daemon.HasExited, "the daemon exited with the hook still running");
        await File.WriteAllTextAsync(release, "");
        Assert.Equal(0, await daemon.WaitForExitAsync(s_generous));
        Assert.True(File.Exists(done), "the in-flight hook did not finish before the exit");
        AssertStoppedCleanly(daemon, noSyslog);
    }

    private static void AssertStoppedCleanly(DaemonProcess daemon, string target)
    {
        lock (daemon.Notifications)
        {
            Assert.Contains(daemon.Notifications, n => n.Split('\n').Contains("READY=1"));
            Assert.Contains(daemon.Notifications, n => n.Split('\n').Contains("STOPPING=1"));
        }

        string last = daemon.Stderr.TrimEnd('\n').Split('\n')[^1];
        Assert.Matches($@"\AWRN Stopped: [1-9]\d* audit records could not be delivered to {System.Text.RegularExpressions.Regex.Escape(target)} \(0 were\); last error: ", last);
    }

    private static async Task WaitForFileAsync(string path, DaemonProcess daemon)
    {
        var deadline = DateTime.UtcNow + s_generous;
        while (!File.Exists(path))
        {
            Assert.True(DateTime.UtcNow < deadline && !daemon.HasExited, $"{path} never appeared\nstderr:\n{daemon.Stderr}");
            await Task.Delay(25);
        }
    }
}
