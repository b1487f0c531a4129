using System.Text.Json;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Issue 10: live migration that never loses the VM. Two real QEMUs on one host stand in for two
/// hosts: a running source, and a destination started with <c>-incoming unix:…</c>. Every check
/// reads QEMU's own answers (<c>query-status</c>, <c>query-migrate</c>, <c>qom-list</c>) over the
/// test's own QMP socket of each QEMU, and the audit trail from a private rsyslogd.
/// </summary>
public sealed class MigrationScenarioTests
{
    private const string DriveRule = """
        rules:
          - name: drive-to-winxp
            match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa1" } }
            attach: { vm: winxp, as: usb-storage, read_only: true }
        """;

    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Migrate_DriveAttachedBySourceDaemon_LeavesFirstAndDestinationDaemonAttachesItsOwnAfterResume()
    {
        string incoming = IncomingSocketPath();
        await using DaemonEnvironment source = await DaemonEnvironment.CreateAsync(qemuOptions: new QemuOptions { StartPaused = false });
        await using DaemonEnvironment destination = await DaemonEnvironment.CreateAsync(qemuOptions: new QemuOptions { StartPaused = false, IncomingUnixSocket = incoming });
        await using LoopDevice sourceDisk = await LoopDevice.CreateAsync();
        await using LoopDevice destinationDisk = await LoopDevice.CreateAsync();
        try
        {
            string sourceId = await StartWithDriveAsync(source, sourceDisk);

            // The destination's own daemon routes its own drive to the arriving VM, and must wait.
            destination.WriteRules("10-drive.yaml", DriveRule);
            destination.WriteConfig();
            await destination.StartDaemonAsync();
            await destination.Daemon!.WaitForLogAsync("Reconcile of VM winxp deferred: VM 'winxp': its QEMU is in state 'inmigrate'", s_wait);
            destination.InjectUdev(destination.PlugEvents(Drive(destination), destinationDisk.DevicePath));
            var refused = await destination.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, s_wait);
            Assert.Equal("failure", refused[0].Element("kua@32473")["outcome"]);
            Assert.Contains("'inmigrate'", refused[0].Element("kua@32473")["error"], StringComparison.Ordinal);
            Assert.Empty(await DaemonEnvironment.AgentDevicesAsync(destination.Qemu!));
            Assert.Equal("inmigrate", await RunStateAsync(destination.Qemu!));

            var migrate = await CliAsync(source, "migrate", "winxp", "unix:" + incoming, "--json");
            Assert.True(migrate.ExitCode == 0, migrate.ToString());
            using (JsonDocument report = JsonDocument.Parse(migrate.Stdout))
            {
                Assert.Equal("completed", report.RootElement.GetProperty("status").GetString());
                Assert.True(report.RootElement.GetProperty("succeeded").GetBoolean());
                Assert.Equal([sourceId], report.RootElement.GetProperty("detached").EnumerateArray().Select(e => e.GetString()));
            }

            // QEMU's word: the source has sent its VM away, the destination runs it, and it holds its
            // own drive (attached by its daemon after RESUME), not the source's.
            Assert.Equal("postmigrate", await RunStateAsync(source.Qemu!));
            Dictionary<string, string> arrived = await destination.WaitForDevicesAsync(d => d.Count == 1);
            Assert.DoesNotContain(sourceId, arrived.Keys);
            Assert.Equal("running", await RunStateAsync(destination.Qemu!));
            Assert.Empty(await source.AgentDevicesAsync());

            var audited = await source.Syslog.WaitForAsync(m => m.MsgId == "vm.migrate", 1, s_wait);
            Assert.Equal("success", audited[0].Element("kua@32473")["outcome"]);
            Assert.Equal("winxp", audited[0].Element("kua@32473")["target"]);
        }
        finally
        {
            await source.Daemon!.DisposeAsync();
            await destination.Daemon!.DisposeAsync();
            File.Delete(incoming);
        }
    }

    [Fact]
    public async Task Guard_MigrationStartedOnAnotherQmpSocket_IsCancelledAndTheDeviceStays()
    {
        await using MigrationRig rig = await MigrationRig.CreateAsync(withDestination: true);
        (DaemonEnvironment source, QemuProcess destination, LoopDevice disk, string incoming) = (rig.Source, rig.Destination!, rig.Disk, rig.Incoming);
        string id = await StartWithDriveAsync(source, disk);

        // Another tool migrates the VM over its own monitor, as the seed did by hand.
        await using (QmpConnection other = await DaemonEnvironment.ConnectCheckAsync(source.Qemu!))
        {
            await other.ExecuteAsync("migrate", w => w.WriteString("uri", "unix:" + incoming), CancellationToken.None);
        }

        Assert.Equal("cancelled", await WaitMigrationEndAsync(source.Qemu!));
        Assert.Equal("running", await RunStateAsync(source.Qemu!));
        Assert.Contains(id, (await source.AgentDevicesAsync()).Keys);

        var guard = await source.Syslog.WaitForAsync(m => m.MsgId == "vm.migrate.guard", 1, s_wait);
        Assert.Equal("success", guard[0].Element("kua@32473")["outcome"]);
        Assert.Contains("kvm-udev-agent migrate winxp URI", guard[0].Element("kua.x@32473")["reason"], StringComparison.Ordinal);
        await source.Daemon!.WaitForLogAsync("migrate it with 'kvm-udev-agent migrate winxp URI'", s_wait);
    }

    [Fact]
    public async Task Guard_MigrationAllow_MigrationStartedElsewhereCompletes()
    {
        await using MigrationRig rig = await MigrationRig.CreateAsync(withDestination: true);
        (DaemonEnvironment source, QemuProcess destination, LoopDevice disk, string incoming) = (rig.Source, rig.Destination!, rig.Disk, rig.Incoming);
        await StartWithDriveAsync(source, disk, vmKeys: ", migration: allow");
        await using (QmpConnection other = await DaemonEnvironment.ConnectCheckAsync(source.Qemu!))
        {
            await other.ExecuteAsync("migrate", w => w.WriteString("uri", "unix:" + incoming), CancellationToken.None);
        }

        Assert.Equal("completed", await WaitMigrationEndAsync(source.Qemu!));
        Assert.Equal("postmigrate", await RunStateAsync(source.Qemu!));
        Assert.DoesNotContain("vm.migrate.guard", source.Syslog.ReadAll().Select(m => m.MsgId));
    }

    [Fact]
    public async Task Migrate_DestinationRefuses_ExitsNonZeroWithQemusErrorAndTheSourceRunsWithItsDevice()
    {
        await using MigrationRig rig = await MigrationRig.CreateAsync(withDestination: false);
        (DaemonEnvironment source, LoopDevice disk) = (rig.Source, rig.Disk);
        string id = await StartWithDriveAsync(source, disk);
        string nowhere = IncomingSocketPath();

        var migrate = await CliAsync(source, "migrate", "winxp", "unix:" + nowhere);
        Assert.True(migrate.ExitCode == 1, migrate.ToString());
        Assert.StartsWith("kvm-udev-agent: migration of winxp to unix:" + nowhere + " failed: ", migrate.Stderr, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", migrate.Stderr, StringComparison.Ordinal);
        Assert.Equal("running", await RunStateAsync(source.Qemu!));
        await source.WaitForDevicesAsync(d => d.ContainsKey(id));

        var audited = await source.Syslog.WaitForAsync(m => m.MsgId == "vm.migrate", 1, s_wait);
        Assert.Equal("failure", audited[0].Element("kua@32473")["outcome"]);
    }

    [Fact]
    public async Task Migrate_DestinationKilledMidWay_ExitsNonZeroAndTheSourceRunsWithItsDevice()
    {
        await using MigrationRig rig = await MigrationRig.CreateAsync(withDestination: true);
        (DaemonEnvironment source, QemuProcess destination, LoopDevice disk, string incoming) = (rig.Source, rig.Destination!, rig.Disk, rig.Incoming);
        string id = await StartWithDriveAsync(source, disk);
        // Held to 64 kB/s, so that the destination can be killed while the migration runs.
        await using (QmpConnection other = await DaemonEnvironment.ConnectCheckAsync(source.Qemu!))
        {
            await other.ExecuteAsync("migrate-set-parameters", w => w.WriteNumber("max-bandwidth", 65536), CancellationToken.None);
        }

        Task<ProcessRunner.Result> migrate = CliAsync(source, "migrate", "winxp", "unix:" + incoming, "--json");
        await WaitMigrationAsync(source.Qemu!, status => status == "active");
        destination.Kill();
        var result = await migrate;

        Assert.True(result.ExitCode == 1, result.ToString());
        using (JsonDocument report = JsonDocument.Parse(result.Stdout))
        {
            Assert.Equal("failed", report.RootElement.GetProperty("status").GetString());
            Assert.False(string.IsNullOrEmpty(report.RootElement.GetProperty("error").GetString()), result.Stdout);
        }

        Assert.StartsWith("kvm-udev-agent: migration of winxp to unix:" + incoming + " failed: ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("running", await RunStateAsync(source.Qemu!));
        await source.WaitForDevicesAsync(d => d.ContainsKey(id));
    }

    [Fact]
    public async Task Migrate_BadInput_OneLineEachTheRightExitCodeAndNothingDetached()
    {
        await using MigrationRig rig = await MigrationRig.CreateAsync(withDestination: true);
        (DaemonEnvironment source, QemuProcess destination, LoopDevice disk, string incoming) = (rig.Source, rig.Destination!, rig.Disk, rig.Incoming);
        // 'allow', so that a migration started elsewhere runs on while the verb is asked for.
        string id = await StartWithDriveAsync(source, disk, vmKeys: ", migration: allow");

        await ExpectAsync(source, 66, "kvm-udev-agent: no VM named 'nosuch'; configured: winxp", "migrate", "nosuch", "unix:" + incoming);
        await ExpectAsync(source, 64, "kvm-udev-agent: exec: destinations are refused (they run a shell command inside QEMU); expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket", "migrate", "winxp", "exec:cat");
        await ExpectAsync(source, 64, "kvm-udev-agent: 'tcp:host;reboot' is not tcp:HOST:PORT with a host name or address and a port 1-65535; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket", "migrate", "winxp", "tcp:host;reboot");
        await ExpectAsync(source, 64, "kvm-udev-agent migrate: --timeout must be a number of seconds greater than 0, not 0 (try: --timeout 300)", "migrate", "winxp", "unix:" + incoming, "--timeout", "0");
        var noDaemon = await ProcessRunner.RunAsync(RepoPaths.AgentBinary, ["migrate", "winxp", "unix:" + incoming, "--control-socket", Path.Combine(source.Work, "nothing.sock")]);
        Assert.Equal(69, noDaemon.ExitCode);
        Assert.Single(noDaemon.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("the daemon is not running", noDaemon.Stderr, StringComparison.Ordinal);

        // Already migrating: another tool's migration, slowed down so that it is still running.
        await using (QmpConnection other = await DaemonEnvironment.ConnectCheckAsync(source.Qemu!))
        {
            await other.ExecuteAsync("migrate-set-parameters", w => w.WriteNumber("max-bandwidth", 65536), CancellationToken.None);
            await other.ExecuteAsync("migrate", w => w.WriteString("uri", "unix:" + incoming), CancellationToken.None);
            var busy = await CliAsync(source, "migrate", "winxp", "unix:" + incoming);
            Assert.True(busy.ExitCode == 75, busy.ToString());
            Assert.Single(busy.Stderr.TrimEnd().Split('\n'));
            Assert.StartsWith("kvm-udev-agent: VM 'winxp' is already migrating (QEMU: state 'running', migration '", busy.Stderr, StringComparison.Ordinal);
            await other.ExecuteAsync("migrate_cancel", null, CancellationToken.None);
        }

        Assert.Equal("cancelled", await WaitMigrationEndAsync(source.Qemu!));
        Assert.Contains(id, (await source.AgentDevicesAsync()).Keys);
        Assert.Equal("running", await RunStateAsync(source.Qemu!));
    }

    [Fact]
    public async Task Migrate_HmpMonitors_FollowedByPollingAndTheArrivingVmGetsItsDriveOnlyOnceRunning()
    {
        // The seed's setup: HMP monitors only. One daemon manages both ends, each VM with its own drive.
        string incoming = IncomingSocketPath();
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        using QemuProcess legacy = await QemuProcess.StartAsync(new QemuOptions { Qmp = false, HmpUnix = true, StartPaused = false });
        using QemuProcess arrival = await QemuProcess.StartAsync(new QemuOptions { Qmp = false, HmpUnix = true, StartPaused = false, IncomingUnixSocket = incoming });
        await using LoopDevice legacyDisk = await LoopDevice.CreateAsync();
        await using LoopDevice arrivalDisk = await LoopDevice.CreateAsync();
        try
        {
            env.WriteRules("10-drive.yaml", """
                rules:
                  - name: drive-to-legacy
                    match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa1" } }
                    attach: { vm: legacy, as: usb-storage, read_only: true }
                  - name: drive-to-arrival
                    match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa2" } }
                    attach: { vm: arrival, as: usb-storage, read_only: true }
                """);
            env.WriteConfig(extraVms: "  legacy: { monitor: \"unix:" + legacy.HmpSocket + "\", protocol: hmp }\n  arrival: { monitor: \"unix:" + arrival.HmpSocket + "\", protocol: hmp }\n");
            await env.StartDaemonAsync();
            await env.Daemon!.WaitForLogAsync("VM legacy reconciled", s_wait);
            await env.Daemon.WaitForLogAsync("Reconcile of VM arrival deferred: VM 'arrival': its QEMU is in state 'inmigrate'", s_wait);
            var second = env.Sysfs.UsbDevice(5, "2", "aaa2", "0002").Strings("Kua", "Stick", "MIG2").Interface(0x08, 0x06, 0x50, "usb-storage").ScsiDisk("sdl", sizeBytes: 8 << 20).Add();
            env.InjectUdev([.. env.PlugEvents(Drive(env), legacyDisk.DevicePath), .. env.PlugEvents(second, arrivalDisk.DevicePath)]);
            string legacyId = (await WaitForAgentDevicesAsync(legacy, d => d.Count == 1)).Keys.Single();
            await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach" && m.Element("kua@32473")["target"] == "arrival" && m.Element("kua@32473")["outcome"] == "failure", 1, s_wait);
            Assert.Empty(await DaemonEnvironment.AgentDevicesAsync(arrival));

            var migrate = await CliAsync(env, "migrate", "legacy", "unix:" + incoming);
            Assert.True(migrate.ExitCode == 0, migrate.ToString());
            Assert.StartsWith("Migration: [100 %]  legacy migrated to unix:" + incoming + " in ", migrate.Stdout, StringComparison.Ordinal);
            Assert.EndsWith("1 agent device(s) detached first: " + legacyId + "\n", migrate.Stdout, StringComparison.Ordinal);
            await env.Daemon.WaitForLogAsync("VM legacy has an HMP monitor: following the migration by polling 'info migrate'", s_wait);

            Assert.Equal("postmigrate", await RunStateAsync(legacy));
            Dictionary<string, string> arrived = await WaitForAgentDevicesAsync(arrival, d => d.Count == 1);
            Assert.DoesNotContain(legacyId, arrived.Keys);
            Assert.Equal("running", await RunStateAsync(arrival));
        }
        finally
        {
            await env.Daemon!.DisposeAsync();
            File.Delete(incoming);
        }
    }

    private static async Task<Dictionary<string, string>> WaitForAgentDevicesAsync(QemuProcess qemu, Func<Dictionary<string, string>, bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            Dictionary<string, string> devices = await DaemonEnvironment.AgentDevicesAsync(qemu);
            if (condition(devices))
            {
                return devices;
            }

            Assert.True(DateTime.UtcNow < deadline, "QEMU's kua- devices never reached the expected state: [" + string.Join(", ", devices.Keys) + "]");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// A running source VM with its daemon environment and a loop device for its drive, and (optionally)
    /// a destination QEMU waiting on <see cref="Incoming"/>. Disposal stops the daemon before its VMs and disk go.
    /// </summary>
    private sealed class MigrationRig : IAsyncDisposable
    {
        private MigrationRig(DaemonEnvironment source, QemuProcess? destination, LoopDevice disk, string incoming)
        {
            Source = source;
            Destination = destination;
            Disk = disk;
            Incoming = incoming;
        }

        public DaemonEnvironment Source { get; }

        public QemuProcess? Destination { get; }

        public LoopDevice Disk { get; }

        public string Incoming { get; }

        public static async Task<MigrationRig> CreateAsync(bool withDestination)
        {
            string incoming = IncomingSocketPath();
            DaemonEnvironment source = await DaemonEnvironment.CreateAsync(qemuOptions: new QemuOptions { StartPaused = false });
            QemuProcess? destination = null;
            try
            {
                destination = withDestination ? await QemuProcess.StartAsync(new QemuOptions { StartPaused = false, IncomingUnixSocket = incoming }) : null;
                return new MigrationRig(source, destination, await LoopDevice.CreateAsync(), incoming);
            }
            catch
            {
                destination?.Dispose();
                await source.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Source.DisposeAsync();
            Destination?.Dispose();
            await Disk.DisposeAsync();
            File.Delete(Incoming);
        }
    }

    /// <summary>Starts the daemon with <see cref="DriveRule"/>, plugs a drive backed by <paramref name="disk"/> and waits for it in QEMU; returns its id.</summary>
    private static async Task<string> StartWithDriveAsync(DaemonEnvironment env, LoopDevice disk, string vmKeys = "")
    {
        env.WriteRules("10-drive.yaml", DriveRule);
        env.WriteConfig(vmKeys: vmKeys);
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", s_wait);
        env.InjectUdev(env.PlugEvents(Drive(env), disk.DevicePath));
        return (await env.WaitForDevicesAsync(d => d.Count == 1)).Keys.Single();
    }

    private static SysfsFixture.Drive Drive(DaemonEnvironment env) =>
        env.Sysfs.UsbDevice(5, "1", "aaa1", "0001").Strings("Kua", "Stick", "MIG1").Interface(0x08, 0x06, 0x50, "usb-storage").ScsiDisk("sdk", sizeBytes: 8 << 20).Add();

    private static async Task ExpectAsync(DaemonEnvironment env, int exitCode, string line, params string[] args)
    {
        var result = await CliAsync(env, args);
        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.Equal(line + "\n", result.Stderr);
        Assert.Single(await env.AgentDevicesAsync());
    }

    private static string IncomingSocketPath() => Path.Combine(Path.GetTempPath(), "kua-mig-" + Guid.NewGuid().ToString("N")[..12] + ".sock");

    private static async Task<string> RunStateAsync(QemuProcess qemu)
    {
        await using QmpConnection qmp = await DaemonEnvironment.ConnectCheckAsync(qemu);
        return (await qmp.ExecuteAsync("query-status", null, CancellationToken.None)).GetProperty("status").GetString()!;
    }

    /// <summary>Polls QEMU's <c>query-migrate</c> until the migration has ended; returns its status.</summary>
    private static Task<string> WaitMigrationEndAsync(QemuProcess qemu) => WaitMigrationAsync(qemu, status => status is "completed" or "failed" or "cancelled");

    /// <summary>Polls QEMU's <c>query-migrate</c> until its status satisfies <paramref name="done"/>; returns it.</summary>
    private static async Task<string> WaitMigrationAsync(QemuProcess qemu, Func<string, bool> done)
    {
        DateTime deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            await using (QmpConnection qmp = await DaemonEnvironment.ConnectCheckAsync(qemu))
            {
                JsonElement info = await qmp.ExecuteAsync("query-migrate", null, CancellationToken.None);
                string status = info.TryGetProperty("status", out JsonElement s) ? s.GetString()! : "none";
                if (done(status))
                {
                    return status;
                }

                Assert.True(DateTime.UtcNow < deadline, "the migration never reached the expected status; last status " + status);
            }

            await Task.Delay(50);
        }
    }

    private static Task<ProcessRunner.Result> CliAsync(DaemonEnvironment env, params string[] args) =>
        ProcessRunner.RunAsync(RepoPaths.AgentBinary, [.. args, "--control-socket", env.ControlSocket]);
}
