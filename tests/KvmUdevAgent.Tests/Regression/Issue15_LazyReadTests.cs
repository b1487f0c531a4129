using System.Runtime.InteropServices;
using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 15: the agent reads only what its rules need. A kernel-source drive that only rules without
/// filesystem keys can match is attached without a blkid probe; one a rule names by label is still
/// probed and routed by it (mounts and <c>{fs_label}</c> templates: MountScenarioTests and
/// Issue17_HookArgumentInjectionTests, unchanged); an event no rule can match is not read at all,
/// while the remove of a device the agent attached is still handled.
/// </summary>
public sealed partial class Issue15_LazyReadTests
{
    private const string Label = "LAZY15";

    [Fact]
    public async Task KernelDrive_ProbedOnlyForTheRuleThatNamesItsLabel()
    {
        string plain = "p" + Guid.NewGuid().ToString("N")[..12];
        string labelled = "l" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        await using LoopDevice loop = await LoopDevice.CreateAsync(ext4Label: Label);
        env.WriteRules("10-lazy.yaml", $$"""
            rules:
              - name: no-fs-keys
                match: { subsystem: block, props: { SYNTH_ARG_RUNID: "{{plain}}" } }
                attach: { vm: winxp, as: usb-storage, read_only: true }
              - name: by-label
                match: { subsystem: block, fs_label: "{{Label}}", props: { SYNTH_ARG_RUNID: "{{labelled}}" } }
                attach: { vm: winxp, as: usb-storage, read_only: true }
            """);
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys");
        await env.StartDaemonAsync();
        // The VM's monitor connects (and its first reconcile runs) after agent.start: an attach before that
        // fails and the reconcile does it later. The attach must be the live path.
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        // The loop device holds a labelled ext4: had blkid run, every record would carry the label.
        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", plain));
        await env.WaitForDevicesAsync(d => d.Count == 1);
        // A resync (a SEQNUM gap from another test's network namespace) may audit the present drive
        // again: each check takes the first record of its kind.
        var first = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(20)))[0];
        Assert.Equal("no-fs-keys", Sd(first)["rule"]);
        Assert.Equal("success", Sd(first)["outcome"]);
        Assert.Equal("", Sd(first)["label"]);
        Assert.Equal("skipped", Extra(first)?["fs_probe"]);
        var routed = (await env.Syslog.WaitForAsync(m => m.MsgId == "event.routed", 1, TimeSpan.FromSeconds(10)))[0];
        Assert.Equal("", Sd(routed)["label"]);

        loop.TriggerUevent("remove", Guid.NewGuid(), ("RUNID", plain));
        await env.WaitForDevicesAsync(d => d.Count == 0);

        // Same drive, now an event only the rule on the label can match: probed, and routed by it.
        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", labelled));
        await env.WaitForDevicesAsync(d => d.Count == 1);
        var second = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach" && Sd(m)["rule"] == "by-label", 1, TimeSpan.FromSeconds(20)))[0];
        Assert.Equal("by-label", Sd(second)["rule"]);
        Assert.Equal("success", Sd(second)["outcome"]);
        Assert.Equal(Label, Sd(second)["label"]);
        Assert.False(Extra(second)?.Has("fs_probe") ?? false, "the probed drive's record says the probe was skipped");

        loop.TriggerUevent("remove", Guid.NewGuid(), ("RUNID", labelled));
        await env.WaitForDevicesAsync(d => d.Count == 0);
    }

    [Fact]
    public async Task ReloadAddsRuleOnLabel_PresentDriveProbedThenAttachedByReconcile()
    {
        string token = "r" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        await using LoopDevice loop = await LoopDevice.CreateAsync(ext4Label: Label);
        env.WriteRules("10-hook.yaml", $$"""
            rules:
              - name: note-it
                match: { subsystem: block, props: { SYNTH_ARG_RUNID: "{{token}}" } }
                hook: { run: [/bin/true] }
            """);
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys");
        await env.StartDaemonAsync();
        // The VM's monitor connects (and its first reconcile runs) after agent.start: an attach before that
        // fails and the reconcile does it later. The attach must be the live path.
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
        var hook = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.hook", 1, TimeSpan.FromSeconds(20)))[0];
        Assert.Equal("skipped", Extra(hook)?["fs_probe"]);

        // A rule on the label arrives while the drive is present: the reload probes it, the reconcile attaches it.
        env.WriteRules("20-label.yaml", $$"""
            rules:
              - name: by-label
                match: { subsystem: block, fs_label: "{{Label}}", props: { SYNTH_ARG_RUNID: "{{token}}" } }
                attach: { vm: winxp, as: usb-storage, read_only: true }
            """);
        await env.WaitForDevicesAsync(d => d.Count == 1);
        var attach = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(20)))[0];
        Assert.Equal("by-label", Sd(attach)["rule"]);
        Assert.Equal(Label, Sd(attach)["label"]);

        loop.TriggerUevent("remove", Guid.NewGuid(), ("RUNID", token));
        await env.WaitForDevicesAsync(d => d.Count == 0);
    }

    [Fact]
    public async Task EventNoRuleCanMatch_NotRead_TrackedDeviceRemoveStillHandled()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        // Only block devices have rules: no USB event can match one.
        env.WriteRules("10-disk.yaml", $$"""
            rules:
              - name: seed-disk
                match: { subsystem: block, devtype: disk, serial: "{{SysfsFixture.SeedSerial}}" }
                attach: { vm: winxp, as: usb-storage, read_only: true }
            """);
        env.WriteConfig();
        await env.StartDaemonAsync("--verbose");
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        SysfsFixture.Drive seed = env.Sysfs.AddSeedFlashDrive();
        env.InjectUdev(env.PlugEvents(seed, loop.DevicePath));
        await env.WaitForDevicesAsync(d => d.Count == 1);

        // A USB device whose serial is a FIFO without a writer: reading it blocks for good, so a view
        // built for its interface's event (whose identity is the USB device's) would hang, and hold
        // the FIFO open, which the end checks. Only the interface is announced: a live add of a
        // usb_device is read even when no rule can match it, for its event.unmatched audit record.
        SysfsFixture.Drive stick = env.Sysfs.UsbDevice(2, "1.6", "abcd", "1234").Strings("Lazy", "Stick", "X")
            .Interface(0x08, 0x06, 0x50, "usb-storage").Add();
        string fifo = Path.Combine(stick.UsbDevice.Directory, "serial");
        File.Delete(fifo);
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));
        try
        {
            env.InjectUdev([env.Sysfs.UdevEvent(stick.Interfaces[0], "add", 500)]);
            await env.Daemon!.WaitForLogAsync("No rule can match add " + stick.Interfaces[0].DevPath + " ", TimeSpan.FromSeconds(20));

            var unplug = env.Sysfs.UnplugEvents(seed, udev: true);
            env.Sysfs.Unplug(seed);
            env.InjectUdev(unplug);
            await env.WaitForDevicesAsync(d => d.Count == 0);
            var detach = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.detach", 1, TimeSpan.FromSeconds(10)))[0];
            Assert.Equal("success", Sd(detach)["outcome"]);

            Assert.False(HasReader(fifo), "the daemon opened the serial of a device no rule can match");
        }
        finally
        {
            // Never leave a reader blocked in the daemon: a writer that comes and goes releases it.
            _ = HasReader(fifo);
        }
    }

    /// <summary>True when some process has the FIFO open for reading (a non-blocking open for writing succeeds only then).</summary>
    private static bool HasReader(string fifo)
    {
        const int O_WRONLY = 1, O_NONBLOCK = 0x800;
        int fd = open(fifo, O_WRONLY | O_NONBLOCK);
        if (fd < 0)
        {
            return false;
        }

        _ = close(fd);
        return true;
    }

    private static ParsedSdElement Sd(ReceivedSyslogMessage m) => m.Element("kua@32473");

    private static ParsedSdElement? Extra(ReceivedSyslogMessage m) => m.Elements.FirstOrDefault(e => e.Id == "kua.x@32473");

    [LibraryImport("libc.so.6", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mkfifo(string path, uint mode);

    [LibraryImport("libc.so.6", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc.so.6", EntryPoint = "close")]
    private static partial int close(int fd);
}
