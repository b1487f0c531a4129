using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Issue 11, item 4: a QEMU running as <c>nobody</c> (<c>-runas</c>) cannot open a root:disk 0660
/// loop device; over its unix-socket QMP monitor the agent opens the node and passes the
/// descriptor (add-fd, <c>/dev/fdset/N</c>), and removes the fdset on detach. Over a TCP monitor
/// no descriptor can go, and the error says so and names <c>pass_fds</c>.
/// </summary>
public sealed class UnprivilegedQemuScenarioTests
{
    [Fact]
    public async Task RunasNobody_LoopDrive_AttachedThroughPassedDescriptorAndDetachedWithNoFdsetLeft_TcpMonitorSaysWhy()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        int tcpPort = FreeTcpPort();
        using QemuProcess vm = QemuProcess.Prepare(new QemuOptions { ExtraArguments = ["-runas", "nobody"] });
        // A VM of its own: two VM entries on one QEMU would each reconcile away the other's devices.
        using QemuProcess vmTcp = QemuProcess.Prepare(new QemuOptions
        {
            Qmp = false,
            ExtraArguments = ["-runas", "nobody", "-qmp", "tcp:127.0.0.1:" + tcpPort + ",server=on,wait=off"],
        });
        await using LoopDevice disk = await LoopDevice.CreateAsync();
        await using LoopDevice other = await LoopDevice.CreateAsync();
        try
        {
            await RunAsync(env, vm, vmTcp, tcpPort, disk, other);
        }
        finally
        {
            // Back to what devtmpfs made (this host runs no udev), for whoever gets the loop device next.
            foreach (LoopDevice loop in (LoopDevice[])[disk, other])
            {
                await ProcessRunner.RunAsync("chown", ["root:root", loop.DevicePath]);
                File.SetUnixFileMode(loop.DevicePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }

    private static async Task RunAsync(DaemonEnvironment env, QemuProcess vm, QemuProcess vmTcp, int tcpPort, LoopDevice disk, LoopDevice other)
    {
        // A drive as udev makes it on Debian: root:disk 0660, so a QEMU running as nobody may not open it.
        foreach (LoopDevice loop in (LoopDevice[])[disk, other])
        {
            ProcessRunner.Result chown = await ProcessRunner.RunAsync("chown", ["root:disk", loop.DevicePath]);
            Assert.True(chown.ExitCode == 0, chown.ToString());
            File.SetUnixFileMode(loop.DevicePath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        }

        env.WriteRules("10-priv.yaml", SharedMonitorScenarioTests.Rule("aaa4", "priv") + "\n" + SharedMonitorScenarioTests.Rule("aaa5", "privtcp").Replace("rules:\n", "", StringComparison.Ordinal));
        env.WriteConfig(extraVms:
            "  priv: { monitor: \"unix:" + vm.QmpSocket + "\" }\n" +
            "  privtcp: { monitor: \"tcp:127.0.0.1:" + tcpPort + "\", connection: on-demand }\n");
        await env.StartDaemonAsync();
        // The tcp monitor must be reachable from the daemon's own network namespace.
        vmTcp.NetnsPid = env.Daemon!.Pid;
        await vm.LaunchAsync();
        await vmTcp.LaunchAsync();
        foreach (QemuProcess qemu in (QemuProcess[])[vm, vmTcp])
        {
            Assert.Contains(File.ReadLines("/proc/" + qemu.Pid + "/status"), l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t')[2] == "65534");
        }

        await env.Daemon.WaitForLogAsync("VM priv reconciled", TimeSpan.FromSeconds(20));
        await env.Daemon.WaitForLogAsync("VM privtcp reconciled", TimeSpan.FromSeconds(20));

        SysfsFixture.Drive drive = SharedMonitorScenarioTests.AddDrive(env, "aaa4", "4", "sdn");
        env.InjectUdev(SharedMonitorScenarioTests.Events(env, drive, disk.DevicePath));
        string id = (await DaemonEnvironment.WaitForDevicesAsync(vm, d => d.Count == 1, daemon: env.Daemon)).Keys.Single();
        string? file = await SharedMonitorScenarioTests.QomDriveFileAsync(vm, id);
        Assert.StartsWith("/dev/fdset/", file, StringComparison.Ordinal);
        Assert.Equal([id + "-n"], await FdsetOpaquesAsync(vm));

        // Over TCP: no descriptor can be passed, and the audit record says what to change.
        SysfsFixture.Drive tcpDrive = SharedMonitorScenarioTests.AddDrive(env, "aaa5", "5", "sdo");
        env.InjectUdev(SharedMonitorScenarioTests.Events(env, tcpDrive, other.DevicePath));
        var failed = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach" && m.Element("kua@32473")["target"] == "privtcp", 1, TimeSpan.FromSeconds(20))).Single();
        Assert.Equal("failure", failed.Element("kua@32473")["outcome"]);
        Assert.Equal(
            "QEMU may not open " + other.DevicePath + " itself (it does not run as root?), and a TCP or telnet monitor cannot carry a file descriptor (SCM_RIGHTS needs a unix socket): give the VM a QMP monitor on a unix socket (-qmp unix:/run/qemu/NAME.qmp,server=on,wait=off) for the agent, or set pass_fds: false if QEMU can open the device itself.",
            failed.Element("kua@32473")["error"]);
        Assert.Empty(await DaemonEnvironment.AgentDevicesAsync(vmTcp));
        Assert.Equal([id], (await DaemonEnvironment.AgentDevicesAsync(vm)).Keys);

        // A paused QEMU 7.2 keeps a passed descriptor until the VM runs (design §7): let it run.
        await using (var qmp = await SharedMonitorScenarioTests.ReadyQmpAsync(vm))
        {
            await qmp.ExecuteAsync("cont", null, CancellationToken.None);
        }

        SharedMonitorScenarioTests.Unplug(env, drive, disk.DevicePath);
        await DaemonEnvironment.WaitForDevicesAsync(vm, d => d.Count == 0, daemon: env.Daemon);
        await SharedMonitorScenarioTests.WaitForNoAgentBlockNodeAsync(vm);
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await FdsetOpaquesAsync(vm)).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "an fdset was left behind: " + string.Join(", ", await FdsetOpaquesAsync(vm)));
            await Task.Delay(50);
        }

        await env.Daemon.DisposeAsync();
    }

    /// <summary>The opaque strings of every descriptor in every fdset QEMU holds (query-fdsets).</summary>
    private static async Task<List<string>> FdsetOpaquesAsync(QemuProcess qemu)
    {
        await using var qmp = await SharedMonitorScenarioTests.ReadyQmpAsync(qemu);
        JsonElement fdsets = await qmp.ExecuteAsync("query-fdsets", null, CancellationToken.None);
        return [.. fdsets.EnumerateArray().SelectMany(s => s.GetProperty("fds").EnumerateArray())
            .Select(fd => fd.TryGetProperty("opaque", out JsonElement o) ? o.GetString() ?? "" : "(none)")];
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
