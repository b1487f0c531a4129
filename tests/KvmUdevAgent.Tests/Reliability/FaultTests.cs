using System.Globalization;
using System.Text.Json;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Qemu;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>
/// Issue 7, reliability 4: faults around the running daemon — QEMU killed in the middle of an
/// attach, the monitor socket missing at start, the daemon SIGKILLed during a storm, a netlink
/// overflow during a storm, a full disk under the state file, an unreachable syslog. After each,
/// QEMU holds every present device exactly once and nothing that is gone, a reconcile asked for at
/// the end finds nothing to do, and nothing is left in the mount table under the mount base.
/// </summary>
public sealed class FaultTests
{
    internal const string StormRule = """
        rules:
          - name: storm
            match: { subsystem: usb, devtype: usb_device, vendor: "abcd" }
            attach: { vm: winxp }
        """;

    // qemu-xhci has 8 root ports; four hubs give room for the storms' 50 devices.
    private static readonly QemuOptions s_withHubs = new()
    {
        ExtraArguments = [.. Enumerable.Repeat((string[])["-device", "usb-hub,bus=xhci.0"], 4).SelectMany(a => a)],
    };

    [Fact]
    public async Task QemuStoppedDuringAttachThenKilledAndRestarted_DeviceAttachedExactlyOnce()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-storm.yaml", StormRule);
        env.WriteConfig();
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        // Frozen QEMU: the daemon's device_add is sent (or about to be) and never answered.
        Assert.Equal(0, Tmds.Linux.LibC.kill(env.Qemu!.Pid, 19)); // SIGSTOP
        SysfsFixture.Drive first = AddStormDrive(env, 1);
        env.InjectUdev(env.Sysfs.PlugEvents(first, udev: true));
        await env.Syslog.WaitForAsync(m => m.MsgId == "event.routed" && m.Element("kua@32473")["devpath"] == first.UsbDevice.DevPath, 1, TimeSpan.FromSeconds(10));

        await env.Qemu.RestartAsync(); // SIGKILL of the stopped QEMU, then the same command line again
        await ExpectExactlyAsync(env, [StormId(1)]);

        // And the daemon carries on with the next plug as usual.
        SysfsFixture.Drive second = AddStormDrive(env, 2);
        env.InjectUdev(env.Sysfs.PlugEvents(second, udev: true));
        await ExpectExactlyAsync(env, [StormId(1), StormId(2)]);
    }

    [Fact]
    public async Task MonitorSocketMissingAtStart_DaemonStartsAndSaysSo_AttachesWhenQemuAppears()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(launchQemu: false);
        env.Sysfs.AddSeedFlashDrive();
        env.WriteRules("10-flash.yaml", """
            rules:
              - name: flash-to-winxp
                match: { subsystem: usb, devtype: usb_device, vendor: "058f", product: "6387", serial: "576B63C4" }
                attach: { vm: winxp }
              - name: storm
                match: { subsystem: usb, devtype: usb_device, vendor: "abcd" }
                attach: { vm: winxp }
            """);
        env.WriteConfig();
        Assert.False(File.Exists(env.Qemu!.QmpSocket));
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("No VM monitor answers yet (winxp at unix:" + env.Qemu.QmpSocket + ")", TimeSpan.FromSeconds(10));
        await using (var control = await Core.Control.ControlClient.ConnectAsync(env.ControlSocket, TimeSpan.FromSeconds(10)))
        {
            Core.Control.ControlResponse vms = await control.SendAsync(Core.Control.ControlVerbs.Vms);
            Assert.True(vms.Ok, vms.Error?.Message);
            // The answer is a list of VM statuses ("reachable"), or, before that, an object with "vms" ("connected").
            JsonElement winxp = (vms.Result.ValueKind == JsonValueKind.Array ? vms.Result : vms.Result.GetProperty("vms"))[0];
            Assert.Equal("winxp", winxp.GetProperty("name").GetString());
            Assert.False((winxp.TryGetProperty("reachable", out JsonElement up) ? up : winxp.GetProperty("connected")).GetBoolean(), winxp.GetRawText());
        }

        // A live plug while the VM is down: routed, attached later.
        SysfsFixture.Drive live = AddStormDrive(env, 3);
        env.InjectUdev(env.Sysfs.PlugEvents(live, udev: true));
        await env.Syslog.WaitForAsync(m => m.MsgId == "event.routed" && m.Element("kua@32473")["devpath"] == live.UsbDevice.DevPath, 1, TimeSpan.FromSeconds(10));

        await env.Qemu.LaunchAsync();
        await ExpectExactlyAsync(env, ["kua-u2-1.4-058f6387", StormId(3)]);
    }

    [Fact]
    public async Task DaemonKilledDuringStormOfFifty_Restarted_EveryPresentDeviceOnceNothingStale()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(qemuOptions: s_withHubs);
        env.WriteRules("10-storm.yaml", StormRule);
        env.WriteConfig();
        Support.DaemonProcess first = await env.StartDaemonAsync();
        await first.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        var drives = Enumerable.Range(1, 50).Select(n => AddStormDrive(env, n)).ToList();
        env.InjectUdev(drives.SelectMany(d => env.Sysfs.PlugEvents(d, udev: true)));
        // Kill it mid-storm: some attached, some in flight, some not yet read.
        await env.WaitForDevicesAsync(d => d.Count >= 3);
        first.Signal(9);
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));

        // Five are pulled while the agent is down (whether or not they made it into QEMU).
        foreach (SysfsFixture.Drive gone in drives.Take(5))
        {
            env.Sysfs.Unplug(gone);
        }

        await env.StartDaemonAsync();
        await ExpectExactlyAsync(env, [.. Enumerable.Range(6, 45).Select(StormId)]);
    }

    [Fact]
    public async Task NetlinkOverflowDuringStorm_Resync_EveryPresentDeviceOnceNothingStale()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(qemuOptions: s_withHubs);
        env.WriteRules("10-storm.yaml", StormRule);
        // The smallest receive buffer the config accepts: a storm cannot fit.
        env.WriteConfig(receiveBuffer: "4KiB");
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        var drives = Enumerable.Range(1, 50).Select(n => AddStormDrive(env, n)).ToList();
        var events = drives.SelectMany(d => env.Sysfs.PlugEvents(d, udev: true)).ToList();
        // Ten of them are pulled again within the same storm.
        foreach (SysfsFixture.Drive gone in drives.Take(10))
        {
            events.AddRange(env.Sysfs.UnplugEvents(gone, udev: true));
            env.Sysfs.Unplug(gone);
        }

        // Frozen while the storm arrives, the daemon cannot keep up however fast the machine is:
        // the (doubled) 8 KiB buffer holds a handful of the ~600 messages and the kernel drops the rest.
        await env.Daemon.FreezeAsync();
        try
        {
            env.InjectUdev(events);
        }
        finally
        {
            env.Daemon.Thaw();
        }

        await env.WaitForAuditAsync(m => m.MsgId == "source.overflow", 1, TimeSpan.FromSeconds(20));
        await ExpectExactlyAsync(env, [.. Enumerable.Range(11, 40).Select(StormId)]);
    }

    [Fact]
    public async Task StateDiskFull_RoutingGoesOn_StatusReportsStateError_ClearsWhenSpaceReturns()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        await using SmallTmpfs disk = await SmallTmpfs.MountAsync(Path.Combine(env.Work, "statefs"), "64k");
        string stateFile = Path.Combine(disk.Path, "state.json");
        env.WriteRules("10-storm.yaml", StormRule);
        env.WriteConfig(stateFile: stateFile);
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
        Assert.True((await DaemonStatus.QueryAsync(env)).GetProperty("state_error").ValueKind == JsonValueKind.Null);

        string filler = Path.Combine(disk.Path, "filler");
        SmallTmpfs.Fill(filler);
        foreach (int n in (int[])[1, 2])
        {
            env.InjectUdev(env.Sysfs.PlugEvents(AddStormDrive(env, n), udev: true));
        }

        await env.WaitForDevicesAsync(d => d.Count == 2);
        JsonElement status = await DaemonStatus.WaitForAsync(env, s => s.GetProperty("state_error").ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(10));
        Assert.Contains("space", status.GetProperty("state_error").GetString(), StringComparison.OrdinalIgnoreCase);
        JsonElement cli = await DaemonStatus.CliAsync(env);
        Assert.Equal(JsonValueKind.String, cli.GetProperty("state_error").ValueKind);

        File.Delete(filler);
        env.InjectUdev(env.Sysfs.PlugEvents(AddStormDrive(env, 3), udev: true));
        await ExpectExactlyAsync(env, [StormId(1), StormId(2), StormId(3)]);
        await DaemonStatus.WaitForAsync(env, s => s.GetProperty("state_error").ValueKind == JsonValueKind.Null, TimeSpan.FromSeconds(10));
        string state = await File.ReadAllTextAsync(stateFile);
        Assert.All((int[])[1, 2, 3], n => Assert.Contains(StormId(n), state, StringComparison.Ordinal));

        // Stop the daemon before the tmpfs goes, so nothing holds it.
        await env.Daemon.DisposeAsync();
    }

    [Fact]
    public async Task SyslogUnreachable_RoutingGoesOn_StatusCountsAuditDrops()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-storm.yaml", StormRule);
        env.WriteConfig(auditTarget: "unix:" + Path.Combine(env.Work, "no-syslog-here.sock"));
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        SysfsFixture.Drive drive = AddStormDrive(env, 1);
        env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));
        await ExpectExactlyAsync(env, [StormId(1)]);

        // The audit queue keeps records for a syslog that may come back (4096 of them, SyslogQueue);
        // beyond that they are dropped and counted. Unmatched plugs are audited one record each.
        const int Unmatched = 4_600;
        long events = DaemonStatus.Events(await DaemonStatus.QueryAsync(env));
        for (int start = 0; start < Unmatched; start += 500)
        {
            env.InjectUdev(Enumerable.Range(start, 500).Select(i => Uevent.Create(UeventSource.Udev,
            [
                new("ACTION", "add"), new("DEVPATH", "/devices/pci0000:00/0000:00:14.0/usb9/9-" + (i + 1).ToString(CultureInfo.InvariantCulture)),
                new("SUBSYSTEM", "usb"), new("DEVTYPE", "usb_device"), new("ID_VENDOR_ID", "1111"), new("ID_MODEL_ID", "2222"), new("SEQNUM", "1"),
            ])));
            long expected = events + start + 500;
            await DaemonStatus.WaitForAsync(env, s => DaemonStatus.Events(s) >= expected, TimeSpan.FromSeconds(20));
        }

        JsonElement status = await DaemonStatus.WaitForAsync(env, s => s.GetProperty("audit_dropped").GetInt64() > 0, TimeSpan.FromSeconds(20));
        Assert.True((await DaemonStatus.CliAsync(env)).GetProperty("audit_dropped").GetInt64() >= status.GetProperty("audit_dropped").GetInt64());

        // Routing went on all along, and goes on.
        var unplug = env.Sysfs.UnplugEvents(drive, udev: true);
        env.Sysfs.Unplug(drive);
        env.InjectUdev(unplug);
        env.InjectUdev(env.Sysfs.PlugEvents(AddStormDrive(env, 2), udev: true));
        await ExpectExactlyAsync(env, [StormId(2)]);
        Assert.DoesNotContain(env.Syslog.ReadAll(), m => m.AppName == "kvm-udev-agent");
    }

    internal static SysfsFixture.Drive AddStormDrive(DaemonEnvironment env, int n) =>
        env.Sysfs.UsbDevice(3, "1." + n.ToString(CultureInfo.InvariantCulture), "abcd", n.ToString("x4", CultureInfo.InvariantCulture))
            .Strings("Acme", "Stick", "S" + n.ToString(CultureInfo.InvariantCulture))
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .Add();

    internal static string StormId(int n) => string.Create(CultureInfo.InvariantCulture, $"kua-u3-1.{n}-abcd{n:x4}");

    /// <summary>
    /// QEMU holds exactly <paramref name="ids"/> (each once: QEMU ids are unique), the state agrees,
    /// a reconcile asked for now (a reload) finds nothing to attach or detach, and nothing is mounted
    /// under the mount base.
    /// </summary>
    internal static async Task ExpectExactlyAsync(DaemonEnvironment env, string[] ids)
    {
        await env.WaitForDevicesAsync(d => d.Keys.ToHashSet().SetEquals(ids), TimeSpan.FromSeconds(30));
        await DaemonStatus.WaitForAsync(env, s => s.GetProperty("attachments").GetInt32() == ids.Length, TimeSpan.FromSeconds(10));

        string marker = "VM winxp reconciled: ";
        int before = Count(env.Daemon!.Stderr, marker);
        (bool ok, _) = await BadRuleReloadTests.ReloadAsync(env);
        Assert.True(ok);
        // The reload's reconcile finds nothing to do. The lines counted before the reload may lag behind
        // the daemon (its log writer gathers a burst): a reconcile that ended before the reload, e.g. a
        // resync's, can still come after "before". No reconcile runs unasked, so the reload's is the one
        // that says nothing to do; one that attached or detached anything would not.
        string expected = $"0 attached, 0 detached, {ids.Length} unchanged, 0 failed";
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!env.Daemon.Stderr.Split('\n').Where(l => l.Contains(marker, StringComparison.Ordinal)).Skip(before).Any(l => l.Contains(expected, StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no reconcile saying \"{expected}\" after the reload\n" + env.Daemon.Stderr);
            await Task.Delay(25);
        }

        Assert.True((await env.AgentDevicesAsync()).Keys.ToHashSet().SetEquals(ids));
        string mountBase = Path.GetFullPath(env.MountBase) + "/";
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Split(' ')[4].StartsWith(mountBase, StringComparison.Ordinal));
    }

    private static int Count(string text, string marker)
    {
        int count = 0;
        for (int i = text.IndexOf(marker, StringComparison.Ordinal); i >= 0; i = text.IndexOf(marker, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
