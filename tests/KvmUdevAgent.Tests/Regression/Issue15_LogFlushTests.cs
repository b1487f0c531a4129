using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Reliability;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 15: the daemon's stderr log is written by a worker thread in batches, off the event path.
/// What it must not do is lose lines: a burst of plans followed at once by SIGTERM still shows every
/// plan, in order, and the stop line last (the host disposes the logger, which drains the queue).
/// </summary>
public sealed class Issue15_LogFlushTests
{
    private static readonly TimeSpan s_generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Issue15_SigtermRightAfterABurst_EveryPlanLineThenTheStopLine()
    {
        const int Burst = 3_000;
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        SysfsFixture.Drive device = env.Sysfs.UsbDevice(3, "2", "0781", "5567").Strings("SanDisk", "Cruzer", "S1").Interface(8, 6, 0x50, "usb-storage").Add();
        env.WriteRules("30-hook.yaml", """
            rules:
              - name: burst
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: [/bin/true] }
            """);
        env.WriteConfig(receiveBuffer: "64MiB");
        var daemon = await env.StartDaemonAsync("--dry-run");
        await daemon.WaitForLogAsync($"INF Plan for coldplug {device.UsbDevice.DevPath}: ", s_generous);
        long coldplugged = DaemonStatus.Matched(await DaemonStatus.QueryAsync(env));

        env.InjectUdev(Enumerable.Range(0, Burst).Select(i => env.Sysfs.UdevEvent(device.UsbDevice, "add", (ulong)(1_000 + i))));
        // Matched is counted just before the plan line is handed to the logger: the lines may all be
        // still queued when SIGTERM arrives.
        await DaemonStatus.WaitForAsync(env, s => DaemonStatus.Matched(s) >= coldplugged + Burst, s_generous);
        daemon.Signal(15);

        Assert.Equal(0, await daemon.WaitForExitAsync(s_generous));
        string[] lines = daemon.Stderr.TrimEnd('\n').Split('\n');
        string plan = $"INF Plan for add {device.UsbDevice.DevPath}: ";
        Assert.Equal(Burst, lines.Count(l => l.StartsWith(plan, StringComparison.Ordinal)));
        // The stop's own line is the last one. Which one it is depends on the audit queue: a loaded
        // machine may not send the burst's records within the stop's 250 ms drain (then WRN, with the count).
        Assert.Matches("^(INF Stopped: every audit record was delivered|WRN Stopped: [0-9]+ audit records could not be delivered)", lines[^1]);
    }
}
