using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Reliability;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Found in a full test run (issue 15's own receive thread): a signal that interrupted the receive
/// thread's <c>ppoll</c> stopped the daemon ("ppoll(AF_NETLINK) failed: Resource temporarily
/// unavailable"). Tmds.LibC 0.5.0 declares <c>ppoll</c> without <c>SetLastError</c>, so the errno read
/// after it was the previous <c>recvmsg</c>'s EAGAIN, and the EINTR retry never ran. Any signal the
/// runtime handles can land on that thread: a hook's SIGCHLD, the SIGCONT after a stop.
/// </summary>
public sealed class Issue15_ReceiveThreadSignalTests
{
    [Fact]
    public async Task Issue15_SignalsInterruptTheReceiveThreadsWait_DaemonKeepsReceiving()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-storm.yaml", FaultTests.StormRule);
        env.WriteConfig();
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        // Idle: the receive thread waits in ppoll, and its last recvmsg ended in EAGAIN.
        env.Daemon.SignalThread("uevent-receive", Tmds.Linux.LibC.SIGCHLD);
        env.Daemon.SignalThread("uevent-receive", Tmds.Linux.LibC.SIGCONT);

        var drive = FaultTests.AddStormDrive(env, 1);
        env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));
        await env.WaitForDevicesAsync(d => d.ContainsKey(FaultTests.StormId(1)), TimeSpan.FromSeconds(30));
        Assert.False(env.Daemon.HasExited, "the daemon stopped\n" + env.Daemon.Stderr);
    }
}
