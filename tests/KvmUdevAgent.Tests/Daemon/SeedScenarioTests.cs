using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Design scenario 1: the seed's drive (058f:6387, serial 576B63C4) is plugged in and lands in VM
/// winxp; unplugged, it leaves QEMU clean. Its twin (same ids, another serial) is not attached.
/// The daemon is the real binary; QEMU and rsyslogd are real; only the USB bus is a fixture.
/// </summary>
public sealed class SeedScenarioTests
{
    private const string SeedRule = """
        rules:
          - name: flash-to-winxp
            description: The seed's Alcor flash drive goes to the Windows XP VM
            match:
              subsystem: usb
              devtype: usb_device
              vendor: "058f"
              product: "6387"
              serial: "576B63C4"
              interfaces: ["08:*:*"]
            attach:
              vm: winxp
        """;

    private const string SeedId = "kua-u2-1.4-058f6387";

    [Fact]
    public async Task SeedDrive_PlugAndUnplug_AttachedToWinxpThenDetached()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-flash.yaml", SeedRule);
        // The shipped default mounts any labelled flash drive; the seed's drive goes to the VM instead.
        File.Copy(Path.Combine(RepoPaths.Root, "rules", "50-mount-flash.yaml"), Path.Combine(env.RulesDir, "50-mount-flash.yaml"));
        env.WriteConfig();
        await env.StartDaemonAsync();
        // The VM's monitor connects after coldplug; wait for it so the attach is the live path.
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));

        var seed = env.Sysfs.AddSeedFlashDrive();
        env.InjectUdev(env.Sysfs.PlugEvents(seed, udev: true));
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));
        Assert.Equal("usb-host", (await env.AgentDevicesAsync())[SeedId].Replace("child<", "", StringComparison.Ordinal).TrimEnd('>'));
        Assert.Equal("2", await env.QomGetAsync(SeedId, "hostbus"));
        Assert.Equal("1.4", await env.QomGetAsync(SeedId, "hostport"));
        Assert.Equal("1423", await env.QomGetAsync(SeedId, "vendorid"));
        Assert.Equal("25479", await env.QomGetAsync(SeedId, "productid"));

        var skipped = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.mount" && Sd(m)["devpath"].EndsWith("/sdb1", StringComparison.Ordinal), 1, TimeSpan.FromSeconds(10))).Single();
        Assert.Equal("skip", Sd(skipped)["action"]);
        Assert.Equal("mount-flash", Sd(skipped)["rule"]);
        Assert.Equal("its USB device goes to VM winxp (rule flash-to-winxp)", skipped.Element("kua.x@32473")["reason"]);
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), line => line.Contains(env.MountBase, StringComparison.Ordinal));

        var twin = env.Sysfs.AddTwinFlashDrive();
        env.InjectUdev(env.Sysfs.PlugEvents(twin, udev: true));
        await env.Syslog.WaitForAsync(m => m.MsgId == "event.unmatched" && Sd(m)["serial"] == SysfsFixture.TwinSerial, 1, TimeSpan.FromSeconds(10));
        Assert.Equal([SeedId], (await env.AgentDevicesAsync()).Keys);

        var unplug = env.Sysfs.UnplugEvents(seed, udev: true);
        env.Sysfs.Unplug(seed);
        env.InjectUdev(unplug);
        await env.WaitForDevicesAsync(d => !d.ContainsKey(SeedId));

        var attach = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(10))).Single();
        Assert.Equal("success", Sd(attach)["outcome"]);
        Assert.Equal("flash-to-winxp", Sd(attach)["rule"]);
        Assert.Equal("winxp", Sd(attach)["target"]);
        Assert.Equal(SysfsFixture.SeedSerial, Sd(attach)["serial"]);
        Assert.Equal("058f", Sd(attach)["vendor"]);
        Assert.Equal("6387", Sd(attach)["product"]);
        Assert.Equal("add", Sd(attach)["event"]);
        Assert.True(double.Parse(Sd(attach)["latency_ms"], System.Globalization.CultureInfo.InvariantCulture) >= 0);

        var detach = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.detach", 1, TimeSpan.FromSeconds(10))).Single();
        Assert.Equal("success", Sd(detach)["outcome"]);
        Assert.Equal("remove", Sd(detach)["event"]);
        Assert.Equal(SysfsFixture.SeedSerial, Sd(detach)["serial"]);
    }

    private static ParsedSdElement Sd(ReceivedSyslogMessage m) => m.Element("kua@32473");
}
