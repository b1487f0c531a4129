using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Design scenario 4: the drive is there before the VM and before the agent; the VM's QEMU
/// restarts; the agent restarts (even killed) — nothing is attached twice and nothing is lost.
/// </summary>
public sealed class RestartScenarioTests
{
    private const string SeedRule = """
        rules:
          - name: flash-to-winxp
            match: { subsystem: usb, devtype: usb_device, vendor: "058f", product: "6387", serial: "576B63C4" }
            attach: { vm: winxp }
        """;

    private const string SeedId = "kua-u2-1.4-058f6387";

    [Fact]
    public async Task DrivePresentAtBoot_VmStartsLater_AttachedWhenMonitorAnswers()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(launchQemu: false);
        env.Sysfs.AddSeedFlashDrive();
        env.WriteRules("10-flash.yaml", SeedRule);
        env.WriteConfig();
        await env.StartDaemonAsync();

        await env.Qemu!.LaunchAsync();
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));
        Assert.Equal("1.4", await env.QomGetAsync(SeedId, "hostport"));
    }

    [Fact]
    public async Task QemuRestarted_DeviceAttachedAgainWithoutEvent()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.Sysfs.AddSeedFlashDrive();
        env.WriteRules("10-flash.yaml", SeedRule);
        env.WriteConfig();
        await env.StartDaemonAsync();
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));

        await env.Qemu!.RestartAsync();
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));
        Assert.Equal(["kua-u2-1.4-058f6387"], (await env.AgentDevicesAsync()).Keys);
    }

    [Fact]
    public async Task AgentKilledAndRestarted_ExactlyOneDeviceInQemu()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-flash.yaml", SeedRule);
        env.WriteConfig();
        DaemonProcess first = await env.StartDaemonAsync();
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));
        var seed = env.Sysfs.AddSeedFlashDrive();
        env.InjectUdev(env.Sysfs.PlugEvents(seed, udev: true));
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));

        first.Signal(9);
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await env.StartDaemonAsync();
        // The restarted agent reconciles once the monitor answers; give it that chance, then count.
        await env.Syslog.WaitForAsync(m => m.Text.Contains("reconcil", StringComparison.Ordinal) || m.MsgId == "agent.start", 2, TimeSpan.FromSeconds(10));
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
        Assert.Equal([SeedId], (await env.AgentDevicesAsync()).Keys);
        Assert.Contains("VM winxp reconciled: 0 attached, 0 detached, 1 unchanged, 0 failed", env.Daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnpluggedWhileAgentDown_StaleDeviceDetachedAtStart()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        var seed = env.Sysfs.AddSeedFlashDrive();
        env.WriteRules("10-flash.yaml", SeedRule);
        env.WriteConfig();
        DaemonProcess first = await env.StartDaemonAsync();
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));
        await first.DisposeAsync();

        env.Sysfs.Unplug(seed);
        await env.StartDaemonAsync();
        await env.WaitForDevicesAsync(d => d.Count == 0);
        var detach = await env.Syslog.WaitForAsync(m => m.MsgId == "device.detach", 1, TimeSpan.FromSeconds(10));
        Assert.Equal(SysfsFixture.SeedSerial, detach.Single().Element("kua@32473")["serial"]);
    }

    [Fact]
    public async Task DryRun_PlansLoggedQemuUntouched()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.Sysfs.AddSeedFlashDrive();
        env.WriteRules("10-flash.yaml", SeedRule);
        env.WriteConfig();
        await env.StartDaemonAsync("--dry-run");
        await env.Daemon!.WaitForLogAsync("Plan for coldplug /devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4: attach to winxp as usb-host (rule flash-to-winxp)", TimeSpan.FromSeconds(10));
        Assert.Empty(await env.AgentDevicesAsync());
        Assert.False(File.Exists(env.StateFile) && File.ReadAllText(env.StateFile).Contains(SeedId, StringComparison.Ordinal));
    }
}
