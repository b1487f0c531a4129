using System.Text;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Everything a daemon scenario needs, all real and all private to the test: a work directory
/// with the config, rules, state and control socket; a fixture sysfs tree; a paused TCG QEMU
/// with a QMP socket for the daemon and one for the test's own checks; a private rsyslogd for the
/// audit trail; and the daemon process in its own network namespace, into which udev-format
/// events are injected. Disposal stops everything by PID and removes the directory.
/// </summary>
internal sealed class DaemonEnvironment : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private NetnsThread? _netns;
    private UeventInjector? _injector;

    private DaemonEnvironment(string work)
    {
        Work = work;
        RulesDir = Path.Combine(work, "rules.d");
        Directory.CreateDirectory(RulesDir);
        MountBase = Path.Combine(work, "media");
        StateFile = Path.Combine(work, "state", "state.json");
        ControlSocket = Path.Combine(work, "control.sock");
        ConfigPath = Path.Combine(work, "agent.yaml");
        Sysfs = new SysfsFixture();
    }

    public string Work { get; }

    public string RulesDir { get; }

    public string MountBase { get; }

    public string StateFile { get; }

    public string ControlSocket { get; }

    public string ConfigPath { get; }

    public SysfsFixture Sysfs { get; }

    public QemuProcess? Qemu { get; private set; }

    public RsyslogServer Syslog { get; private set; } = null!;

    public DaemonProcess? Daemon { get; private set; }

    /// <param name="withQemu">Whether there is a VM at all.</param>
    /// <param name="launchQemu">False: the VM is configured but its QEMU is started later (<see cref="QemuProcess.LaunchAsync"/>).</param>
    /// <param name="qemuOptions">The VM's QEMU command line options (default: <see cref="QemuOptions"/>'s).</param>
    public static async Task<DaemonEnvironment> CreateAsync(bool withQemu = true, bool launchQemu = true, QemuOptions? qemuOptions = null)
    {
        var env = new DaemonEnvironment(Directory.CreateTempSubdirectory("kua-daemon-").FullName);
        try
        {
            env.Syslog = await RsyslogServer.StartAsync();
            if (withQemu)
            {
                QemuOptions options = qemuOptions ?? new QemuOptions();
                env.Qemu = launchQemu ? await QemuProcess.StartAsync(options) : QemuProcess.Prepare(options);
            }

            return env;
        }
        catch
        {
            await env.DisposeAsync();
            throw;
        }
    }

    public void WriteRules(string fileName, string yaml) => File.WriteAllText(Path.Combine(RulesDir, fileName), yaml);

    /// <summary>Writes agent.yaml: udev source over the fixture tree unless told otherwise, VM winxp on QEMU's QMP socket.</summary>
    /// <param name="extraVms">More entries for the <c>vms:</c> mapping, each a line like <c>"  win10: { monitor: ... }\n"</c>.</param>
    /// <param name="auditTarget">The audit syslog target instead of the private rsyslogd.</param>
    /// <param name="stateFile">The state file instead of <see cref="StateFile"/>.</param>
    /// <param name="vmKeys">More keys for VM winxp's mapping, e.g. <c>", migration: allow"</c>.</param>
    /// <param name="rulesDir">The rules directory instead of <see cref="RulesDir"/>.</param>
    /// <param name="mountBase">The mount base instead of <see cref="MountBase"/>.</param>
    public void WriteConfig(string source = "udev", string? sysfsRoot = null, string extra = "", string extraVms = "", string? auditTarget = null, string? stateFile = null, string receiveBuffer = "4MiB", string vmKeys = "", string? rulesDir = null, string? mountBase = null)
    {
        var yaml = new StringBuilder();
        yaml.Append("source: ").Append(source).Append('\n');
        yaml.Append("sysfs_root: ").Append(sysfsRoot ?? Sysfs.Root).Append('\n');
        yaml.Append("rules_dir: ").Append(rulesDir ?? RulesDir).Append('\n');
        yaml.Append("state_file: ").Append(stateFile ?? StateFile).Append('\n');
        yaml.Append("control_socket: ").Append(ControlSocket).Append('\n');
        yaml.Append("mount_base: ").Append(mountBase ?? MountBase).Append('\n');
        yaml.Append("receive_buffer: ").Append(receiveBuffer).Append('\n');
        if (Qemu is not null)
        {
            yaml.Append("vms:\n  winxp: { monitor: \"unix:").Append(Qemu.QmpSocket).Append('"').Append(vmKeys).Append(" }\n").Append(extraVms);
        }
        else if (extraVms.Length > 0)
        {
            yaml.Append("vms:\n").Append(extraVms);
        }

        yaml.Append("audit:\n  syslog: \"").Append(auditTarget ?? Syslog.UnixTarget).Append("\"\n");
        yaml.Append(extra);
        File.WriteAllText(ConfigPath, yaml.ToString());
    }

    public async Task<DaemonProcess> StartDaemonAsync(params string[] extraArgs)
    {
        _injector?.Dispose();
        _netns?.Dispose();
        _injector = null;
        _netns = null;
        Daemon = DaemonProcess.Start(ConfigPath, Work, extraArgs);
        _owned.Add(Daemon);
        await Daemon.WaitReadyAsync();
        return Daemon;
    }

    /// <summary>Sends events to the daemon as systemd-udevd would: libudev format on group 2, inside the daemon's namespace.</summary>
    public void InjectUdev(IEnumerable<Uevent> events)
    {
        if (_injector is null)
        {
            _netns = NetnsThread.Enter(Daemon!.Pid);
            _injector = new UeventInjector(_netns);
        }

        foreach (Uevent e in events)
        {
            _injector.Send(UdevMessageWriter.Write(e), NetlinkGroup.Udev);
        }
    }

    /// <summary>Sends one raw datagram into the daemon's namespace, as root or (with <paramref name="uid"/>) as a non-root sender.</summary>
    public void InjectRaw(byte[] datagram, uint group, uint uid = 0)
    {
        if (_injector is null)
        {
            _netns = NetnsThread.Enter(Daemon!.Pid);
            _injector = new UeventInjector(_netns);
        }

        if (uid == 0)
        {
            _injector.Send(datagram, group);
        }
        else
        {
            _injector.SendAsUid(uid, datagram, group);
        }
    }

    /// <summary>As <see cref="RsyslogServer.WaitForAsync"/>; a timeout also shows the daemon's log (its stderr), which says why a record never came.</summary>
    public async Task<IReadOnlyList<ReceivedSyslogMessage>> WaitForAuditAsync(Func<ReceivedSyslogMessage, bool> predicate, int count, TimeSpan timeout)
    {
        try
        {
            return await Syslog.WaitForAsync(predicate, count, timeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\ndaemon stderr:\n" + Daemon?.Stderr, e);
        }
    }

    /// <summary>The udev events of plugging <paramref name="drive"/>, its disk's DEVNAME pointing at a real block device (a loop device).</summary>
    public IReadOnlyList<Uevent> PlugEvents(SysfsFixture.Drive drive, string devNode) =>
        [.. Sysfs.PlugEvents(drive, udev: true).Select(e => e.DevPath == drive.Disk!.DevPath
            ? Uevent.Create(UeventSource.Udev, e.Properties.Select(p => p.Key == "DEVNAME" ? new KeyValuePair<string, string>("DEVNAME", devNode) : p))
            : e)];

    /// <summary>QEMU's own view: the <c>kua-</c> devices in <c>/machine/peripheral</c>, read over the test's QMP socket.</summary>
    public async Task<Dictionary<string, string>> AgentDevicesAsync() => await AgentDevicesAsync(Qemu!);

    /// <summary>The <c>kua-</c> devices of another VM's QEMU (e.g. a second, HMP-only VM), read over its own ready socket.</summary>
    public static async Task<Dictionary<string, string>> AgentDevicesAsync(QemuProcess qemu)
    {
        await using QmpConnection qmp = await ConnectCheckAsync(qemu);
        var devices = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (QomProperty p in await qmp.QomListAsync("/machine/peripheral", CancellationToken.None))
        {
            if (p.Name.StartsWith(QemuDeviceId.Prefix, StringComparison.Ordinal))
            {
                devices[p.Name] = p.Type;
            }
        }

        return devices;
    }

    public Task<string?> QomGetAsync(string id, string property) => QomGetAsync(Qemu!, id, property);

    public static async Task<string?> QomGetAsync(QemuProcess qemu, string id, string property)
    {
        await using QmpConnection qmp = await ConnectCheckAsync(qemu);
        return await qmp.QomGetAsync("/machine/peripheral/" + id, property, CancellationToken.None);
    }

    /// <summary>Polls QEMU until <paramref name="condition"/> holds for its <c>kua-</c> devices; fails with what it last saw.</summary>
    public Task<Dictionary<string, string>> WaitForDevicesAsync(Func<Dictionary<string, string>, bool> condition, TimeSpan? timeout = null) =>
        WaitForDevicesAsync(Qemu!, condition, timeout, Daemon);

    /// <summary>As the instance method, for another VM's QEMU.</summary>
    public static async Task<Dictionary<string, string>> WaitForDevicesAsync(QemuProcess qemu, Func<Dictionary<string, string>, bool> condition, TimeSpan? timeout = null, DaemonProcess? daemon = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        Dictionary<string, string> last;
        while (true)
        {
            last = await AgentDevicesAsync(qemu);
            if (condition(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("QEMU's kua- devices never reached the expected state; last seen: [" + string.Join(", ", last.Keys) + "]\ndaemon stderr:\n" + daemon?.Stderr);
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A QMP connection to <paramref name="qemu"/>'s own ready socket, for the test's checks and for acting as "another tool".</summary>
    public static async Task<QmpConnection> ConnectCheckAsync(QemuProcess qemu)
    {
        Assert.True(MonitorEndpoint.TryParse("unix:" + qemu.ReadySocket, out MonitorEndpoint endpoint, out string? reason), reason);
        IMonitorConnection connection = await MonitorConnector.ConnectAsync(endpoint, Core.Configuration.MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None);
        return (QmpConnection)connection;
    }

    public async ValueTask DisposeAsync()
    {
        _injector?.Dispose();
        _netns?.Dispose();
        foreach (IAsyncDisposable owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        Qemu?.Dispose();
        if (Syslog is not null)
        {
            await Syslog.DisposeAsync();
        }

        Sysfs.Dispose();

        // A test that failed before its drive was unplugged leaves the daemon's mount behind (a
        // stopped daemon unmounts nothing): take it down here, deepest first, so no mount outlives
        // the test and the failure that caused it is the one reported.
        string work = Path.GetFullPath(Work) + "/";
        foreach (var mount in Core.Actions.MountInfo.Read().Where(m => m.MountPoint.StartsWith(work, StringComparison.Ordinal)).OrderByDescending(m => m.MountPoint.Length))
        {
            await ProcessRunner.RunAsync("umount", ["-l", "--", mount.MountPoint]);
        }

        Directory.Delete(Work, recursive: true);
    }
}
