using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Issue 11: the agent shares a VM's monitor with a person (the seed's single HMP tcp monitor) and
/// with Proxmox VE's per-command clients, reaching it on demand; a restarted QEMU is found by the
/// next probe. Real QEMU, real daemon, real loop devices; only the USB bus is a fixture.
/// </summary>
public sealed class SharedMonitorScenarioTests
{
    private static readonly TimeSpan s_personWait = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task SeedHmpTcpMonitor_OnDemand_PersonAnsweredAndDriveAttachedAndDetached()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        using QemuProcess seed = QemuProcess.Prepare(new QemuOptions { Qmp = false, HmpTcp = true });
        await using LoopDevice disk = await LoopDevice.CreateAsync();
        env.WriteRules("10-seed.yaml", Rule("aaa1", "seed"));
        env.WriteConfig(extraVms: $"  seed: {{ monitor: \"tcp:127.0.0.1:{seed.HmpTcpPort}\", protocol: hmp, connection: on-demand, probe_interval: 300ms }}\n");
        await env.StartDaemonAsync();
        // The daemon runs in a network namespace of its own (for the injected uevents): QEMU's tcp
        // monitor and the person's client go there too.
        seed.NetnsPid = env.Daemon!.Pid;
        await seed.LaunchAsync();
        using NetnsThread netns = NetnsThread.Enter(env.Daemon.Pid);
        await env.Daemon.WaitForLogAsync("VM seed reconciled", TimeSpan.FromSeconds(20));

        // The person's console (the seed's `nc 127.0.0.1 PORT`) answers while the daemon runs.
        for (int i = 0; i < 10; i++)
        {
            string answer = await AskHmpAsync(netns, seed.HmpTcpPort, "info status").WaitAsync(s_personWait);
            Assert.Contains("VM status: paused", answer, StringComparison.Ordinal);
            await Task.Delay(150);
        }

        SysfsFixture.Drive drive = AddDrive(env, "aaa1", "1", "sdk");
        env.InjectUdev(Events(env, drive, disk.DevicePath));
        Dictionary<string, string> attached = await DaemonEnvironment.WaitForDevicesAsync(seed, d => d.Count == 1, daemon: env.Daemon);
        string id = attached.Keys.Single();
        Assert.Equal("child<usb-storage>", attached[id]);
        Assert.Contains("VM status: paused", await AskHmpAsync(netns, seed.HmpTcpPort, "info status").WaitAsync(s_personWait), StringComparison.Ordinal);

        ProcessRunner.Result usb = await Cli(env, "monitor-command", "seed", "--hmp", "info", "usb");
        Assert.True(usb.ExitCode == 0, usb.ToString());
        Assert.Contains("ID: " + id, usb.Stdout, StringComparison.Ordinal);
        Assert.Contains("QEMU USB MSD", usb.Stdout, StringComparison.Ordinal);

        // Issue 13: over HMP too the guest gets the drive's serial (a strict one) and a removable disk, as the host's.
        ProcessRunner.Result serial = await Cli(env, "monitor-command", "seed", "--hmp", "qom-get", "/machine/peripheral/" + id, "serial");
        Assert.Equal("\"S1\"", serial.Stdout.Trim());
        ProcessRunner.Result removable = await Cli(env, "monitor-command", "seed", "--hmp", "qom-get", "/machine/peripheral/" + id, "removable");
        Assert.Equal("true", removable.Stdout.Trim());
        var attach = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(10))).Single();
        Assert.Equal("usb-storage", attach.Element("kua.x@32473")["as"]);
        Assert.Equal("yes", attach.Element("kua.x@32473")["removable"]);
        Assert.Equal("S1", attach.Element("kua.x@32473")["guest_serial"]);

        Unplug(env, drive, disk.DevicePath);
        await DaemonEnvironment.WaitForDevicesAsync(seed, d => d.Count == 0, daemon: env.Daemon);
        await WaitForNoAgentBlockNodeAsync(seed);
        var detach = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.detach", 1, TimeSpan.FromSeconds(10))).Single();
        Assert.Equal("success", detach.Element("kua@32473")["outcome"]);
        var command = (await env.Syslog.WaitForAsync(m => m.MsgId == "vm.command" && m.Element("kua.x@32473")["command"] == "info usb", 1, TimeSpan.FromSeconds(10))).Single();
        Assert.Equal("info usb", command.Element("kua.x@32473")["command"]);
        Assert.Equal("seed", command.Element("kua@32473")["target"]);
        Assert.Equal("success", command.Element("kua@32473")["outcome"]);
    }

    [Fact]
    public async Task ProxmoxLayout_PerCommandClientEvery200ms_NeverWaitsASecondAndDriveAttachedAndDetached()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string runDir = Directory.CreateDirectory(Path.Combine(env.Work, "qemu-server")).FullName;
        string configDir = Directory.CreateDirectory(Path.Combine(env.Work, "pve")).FullName;
        File.WriteAllText(Path.Combine(configDir, "100.conf"), "boot: order=scsi0\ncores: 1\nname: winxp-pve\nmemory: 512\n\n[before-update]\nname: old-name\n");
        string qmpSocket = Path.Combine(runDir, "100.qmp");
        // As Proxmox's qemu-server starts QEMU.
        using QemuProcess pve = await QemuProcess.StartAsync(new QemuOptions
        {
            Qmp = false,
            ExtraArguments = ["-chardev", "socket,id=qmp,path=" + qmpSocket + ",server=on,wait=off", "-mon", "chardev=qmp,mode=control"],
        });
        await using LoopDevice disk = await LoopDevice.CreateAsync();
        env.WriteRules("10-pve.yaml", Rule("aaa2", "pve"));
        env.WriteConfig(
            extraVms: "  pve: { proxmox: 100 }\n",
            extra: "proxmox_run_dir: " + runDir + "\nproxmox_config_dir: " + configDir + "\n");
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM pve reconciled", TimeSpan.FromSeconds(20));

        ProcessRunner.Result vms = await Cli(env, "vms", "--config", env.ConfigPath);
        Assert.True(vms.ExitCode == 0, vms.ToString());
        Assert.StartsWith("pve (Proxmox 100: winxp-pve)  unix:" + qmpSocket + "  qmp  QEMU ", vms.Stdout, StringComparison.Ordinal);

        // qm / pvestatd: connect, greeting, qmp_capabilities, one command, close; every 200 ms.
        using var stop = new CancellationTokenSource();
        Task<List<TimeSpan>> client = Task.Run(async () =>
        {
            var waits = new List<TimeSpan>();
            while (!stop.IsCancellationRequested)
            {
                var watch = Stopwatch.StartNew();
                string status = await QueryStatusAsync(qmpSocket).WaitAsync(s_personWait);
                waits.Add(watch.Elapsed);
                Assert.Contains("\"status\"", status, StringComparison.Ordinal);
                await Task.Delay(200);
            }

            return waits;
        });

        SysfsFixture.Drive drive = AddDrive(env, "aaa2", "2", "sdl");
        env.InjectUdev(Events(env, drive, disk.DevicePath));
        string id = (await DaemonEnvironment.WaitForDevicesAsync(pve, d => d.Count == 1, daemon: env.Daemon)).Keys.Single();
        Assert.Equal(disk.DevicePath, await QomDriveFileAsync(pve, id));
        Unplug(env, drive, disk.DevicePath);
        await DaemonEnvironment.WaitForDevicesAsync(pve, d => d.Count == 0, daemon: env.Daemon);
        await WaitForNoAgentBlockNodeAsync(pve);
        // A few more probes' worth of the client beside the daemon.
        await Task.Delay(1000);
        await stop.CancelAsync();
        List<TimeSpan> all = await client;
        Assert.True(all.Count >= 5, "the client ran " + all.Count + " times");
    }

    [Fact]
    public async Task QemuRestarted_OnDemandVm_NextProbeAttachesAgain()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        using QemuProcess vm = await QemuProcess.StartAsync(new QemuOptions());
        await using LoopDevice disk = await LoopDevice.CreateAsync();
        env.WriteRules("10-vm.yaml", Rule("aaa3", "shared"));
        env.WriteConfig(extraVms: "  shared: { monitor: \"unix:" + vm.QmpSocket + "\", connection: on-demand, probe_interval: 300ms }\n");
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM shared reconciled", TimeSpan.FromSeconds(20));

        SysfsFixture.Drive drive = AddDrive(env, "aaa3", "3", "sdm");
        env.InjectUdev(Events(env, drive, disk.DevicePath));
        string id = (await DaemonEnvironment.WaitForDevicesAsync(vm, d => d.Count == 1, daemon: env.Daemon)).Keys.Single();
        int firstPid = vm.Pid;

        await vm.RestartAsync();
        Assert.NotEqual(firstPid, vm.Pid);
        Assert.Equal([id], (await DaemonEnvironment.WaitForDevicesAsync(vm, d => d.Count == 1, daemon: env.Daemon)).Keys);
        Assert.Equal(disk.DevicePath, await QomDriveFileAsync(vm, id));
        var reattach = await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach" && m.Element("kua.x@32473").Has("reason") && m.Element("kua.x@32473")["reason"] == "reconcile", 1, TimeSpan.FromSeconds(10));
        Assert.Equal("success", reattach.Single().Element("kua@32473")["outcome"]);

        Unplug(env, drive, disk.DevicePath);
        await DaemonEnvironment.WaitForDevicesAsync(vm, d => d.Count == 0, daemon: env.Daemon);
        await env.Daemon.DisposeAsync();
    }

    internal static string Rule(string vendor, string vm) => $$"""
        rules:
          - name: drive-to-{{vm}}
            match: { subsystem: block, devtype: disk, attrs: { idVendor: "{{vendor}}" } }
            attach: { vm: {{vm}}, as: usb-storage }
        """;

    internal static SysfsFixture.Drive AddDrive(DaemonEnvironment env, string vendor, string port, string disk) =>
        env.Sysfs.UsbDevice(5, port, vendor, "0001").Strings("Kua", "Shared", "S" + port)
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .ScsiDisk(disk, sizeBytes: 1 << 20)
            .Add();

    /// <summary>The udev events of a plug, with the disk's DEVNAME pointing at a real loop device.</summary>
    internal static IEnumerable<Uevent> Events(DaemonEnvironment env, SysfsFixture.Drive drive, string devNode) =>
        env.Sysfs.PlugEvents(drive, udev: true).Select(e => e.DevPath == drive.Disk!.DevPath ? WithDevName(e, devNode) : e);

    internal static void Unplug(DaemonEnvironment env, SysfsFixture.Drive drive, string devNode)
    {
        var events = env.Sysfs.UnplugEvents(drive, udev: true).Select(e => e.DevPath == drive.Disk!.DevPath ? WithDevName(e, devNode) : e).ToList();
        env.Sysfs.Unplug(drive);
        env.InjectUdev(events);
    }

    private static Uevent WithDevName(Uevent e, string devNode) =>
        Uevent.Create(UeventSource.Udev, e.Properties.Select(p => p.Key == "DEVNAME" ? new KeyValuePair<string, string>("DEVNAME", devNode) : p));

    internal static Task<ProcessRunner.Result> Cli(DaemonEnvironment env, params string[] args) =>
        ProcessRunner.RunAsync(RepoPaths.AgentBinary, args.Concat(args[0] == "vms" ? [] : ["--control-socket", env.ControlSocket]), timeout: TimeSpan.FromSeconds(60));

    /// <summary>What <c>nc 127.0.0.1 PORT</c> does for a person: connect, wait for the prompt, type a line, read the answer, leave.</summary>
    private static async Task<string> AskHmpAsync(NetnsThread netns, int port, string line)
    {
        using Socket socket = netns.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(IPAddress.Loopback, port);
            return s;
        });
        using var stream = new NetworkStream(socket);
        await ReadUntilPromptAsync(stream);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"));
        return await ReadUntilPromptAsync(stream);
    }

    private static async Task<string> ReadUntilPromptAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[4096];
        while (!text.ToString().EndsWith("(qemu) ", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer);
            Assert.True(n > 0, "the monitor closed: " + text);
            text.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    /// <summary>What Proxmox's <c>qm</c> does per command: greeting, <c>qmp_capabilities</c>, <c>query-status</c>, close.</summary>
    private static async Task<string> QueryStatusAsync(string socketPath)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Contains("\"QMP\"", await reader.ReadLineAsync() ?? "", StringComparison.Ordinal);
        await stream.WriteAsync("{\"execute\":\"qmp_capabilities\"}\n"u8.ToArray());
        Assert.Contains("\"return\"", await reader.ReadLineAsync() ?? "", StringComparison.Ordinal);
        await stream.WriteAsync("{\"execute\":\"query-status\"}\n"u8.ToArray());
        return await reader.ReadLineAsync() ?? "";
    }

    /// <summary>The file of the agent's block node for <paramref name="id"/>, from QEMU (query-named-block-nodes).</summary>
    internal static async Task<string?> QomDriveFileAsync(QemuProcess qemu, string id)
    {
        await using var qmp = await ReadyQmpAsync(qemu);
        var nodes = await qmp.ExecuteAsync("query-named-block-nodes", w => w.WriteBoolean("flat", true), CancellationToken.None);
        foreach (var node in nodes.EnumerateArray())
        {
            if (node.GetProperty("node-name").GetString() == id + "-n")
            {
                return node.GetProperty("file").GetString();
            }
        }

        return null;
    }

    internal static async Task WaitForNoAgentBlockNodeAsync(QemuProcess qemu)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            await using var qmp = await ReadyQmpAsync(qemu);
            var blocks = await qmp.ExecuteAsync("query-block", null, CancellationToken.None);
            string text = blocks.GetRawText();
            if (!text.Contains("kua-", StringComparison.Ordinal))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "QEMU still has an agent block backend: " + text);
            await Task.Delay(50);
        }
    }

    internal static async Task<Core.Qemu.QmpConnection> ReadyQmpAsync(QemuProcess qemu)
    {
        Assert.True(Core.Qemu.MonitorEndpoint.TryParse("unix:" + qemu.ReadySocket, out var endpoint, out string? reason), reason);
        return (Core.Qemu.QmpConnection)await Core.Qemu.MonitorConnector.ConnectAsync(endpoint, Core.Configuration.MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None);
    }
}
