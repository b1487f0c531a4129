using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Reliability;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 17, defect 5: start-up waited for all queued coldplug work, hooks included, before it
/// connected the VM monitors: with a 60-minute hook for a device present at start, the VM stayed
/// "not connected" and its drives unattached until the hook was killed; the resync after an
/// overflow (ENOBUFS) waited the same way. Real QEMU, real hook process, fixture USB devices.
/// </summary>
public sealed class Issue17_SlowHookTests
{
    private const string SeedId = "kua-u2-1.4-058f6387";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Issue17_HookRunsForHours_DrivesAttachedAtStartAndAfterOverflowWhileItRuns()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        string hooks = Path.Combine(env.Work, "hooks");
        Directory.CreateDirectory(hooks);
        string slow = HookScenarioTests.Script(hooks, "slow.sh", "#!/bin/sh\necho $$ > \"$0.pid\"\nexec sleep 3600\n");
        env.WriteRules("10-flash.yaml", $$"""
            rules:
              - name: flash-to-winxp
                match: { subsystem: usb, devtype: usb_device, vendor: "058f", product: "6387", serial: "576B63C4" }
                attach: { vm: winxp }
                hook: { run: ["{{slow}}"], timeout: 60m }
              - name: storm-to-winxp
                match: { subsystem: usb, devtype: usb_device, vendor: "abcd" }
                attach: { vm: winxp }
            """);
        env.Sysfs.AddSeedFlashDrive();
        // The smallest receive buffer the config accepts, so that the overflow below is certain.
        env.WriteConfig(receiveBuffer: "4KiB");
        DaemonProcess daemon = await env.StartDaemonAsync();
        int hook = 0;
        try
        {
            hook = await HookPidAsync(slow + ".pid");

            // At start: the drive that was already there is attached while its hook still runs.
            await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId), s_timeout);
            Assert.True(HookScenarioTests.IsAlive(hook), "the hook ended before the check: the test proves nothing");

            // An overflow while the hook still runs: a drive whose plug was lost is found by the resync.
            var lost = FaultTests.AddStormDrive(env, 1);
            List<Uevent> storm = [.. Enumerable.Range(0, 200).Select(Filler), .. env.Sysfs.PlugEvents(lost, udev: true)];
            await daemon.FreezeAsync();
            try
            {
                env.InjectUdev(storm);
            }
            finally
            {
                daemon.Thaw();
            }

            await env.WaitForAuditAsync(m => m.MsgId == "source.overflow", 1, s_timeout);
            await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId) && d.ContainsKey(FaultTests.StormId(1)), s_timeout);
            Assert.True(HookScenarioTests.IsAlive(hook), "the hook ended before the check: the test proves nothing");
        }
        finally
        {
            await daemon.DisposeAsync();
            if (hook > 0 && HookScenarioTests.IsAlive(hook))
            {
                _ = Tmds.Linux.LibC.kill(hook, 9);
            }
        }
    }

    // Devices that do not exist, each event about 1 KB: the 8 KiB socket buffer holds a handful.
    internal static Uevent Filler(int i) => Uevent.Create(UeventSource.Udev,
    [
        new("ACTION", "add"), new("DEVPATH", "/devices/virtual/misc/kua-filler" + i), new("SUBSYSTEM", "misc"),
        new("SEQNUM", (500 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)), new("KUA_TEST_PADDING", new string('f', 1000)),
    ]);

    private static async Task<int> HookPidAsync(string pidFile)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (!File.Exists(pidFile) || (await File.ReadAllTextAsync(pidFile)).Trim().Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the hook never started");
            await Task.Delay(25);
        }

        return int.Parse(await File.ReadAllTextAsync(pidFile), System.Globalization.CultureInfo.InvariantCulture);
    }
}
