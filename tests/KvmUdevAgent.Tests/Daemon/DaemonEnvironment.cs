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
    public static async Task<DaemonEnvironment> CreateAsync(bool withQemu = true, bool launchQemu = true)
    {
        var env = new DaemonEnvironment(Directory.CreateTempSubdirectory("kua-daemon-").FullName);
        try
        {
            env.Syslog = await RsyslogServer.StartAsync();
            if (withQemu)
            {
                env.Qemu = launchQemu ? await QemuProcess.StartAsync(new QemuOptions()) : QemuProcess.Prepare(new QemuOptions());
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
    public void WriteConfig(string source = "udev", string? sysfsRoot = null, string extra = "")
    {
        var yaml = new StringBuilder();
        yaml.Append("source: ").Append(source).Append('\n');
        yaml.Append("sysfs_root: ").Append(sysfsRoot ?? Sysfs.Root).Append('\n');
        yaml.Append("rules_dir: ").Append(RulesDir).Append('\n');
        yaml.Append("state_file: ").Append(StateFile).Append('\n');
        yaml.Append("control_socket: ").Append(ControlSocket).Append('\n');
        yaml.Append("mount_base: ").Append(MountBase).Append('\n');
        yaml.Append("receive_buffer: 4MiB\n");
        if (Qemu is not null)
        {
            yaml.Append("vms:\n  winxp: { monitor: \"unix:").Append(Qemu.QmpSocket).Append("\" }\n");
        }

        yaml.Append("audit:\n  syslog: \"").Append(Syslog.UnixTarget).Append("\"\n");
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

    /// <summary>QEMU's own view: the <c>kua-</c> devices in <c>/machine/peripheral</c>, read over the test's QMP socket.</summary>
    public async Task<Dictionary<string, string>> AgentDevicesAsync()
    {
        await using QmpConnection qmp = await ConnectCheckAsync();
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

    public async Task<string?> QomGetAsync(string id, string property)
    {
        await using QmpConnection qmp = await ConnectCheckAsync();
        return await qmp.QomGetAsync("/machine/peripheral/" + id, property, CancellationToken.None);
    }

    /// <summary>Polls QEMU until <paramref name="condition"/> holds for its <c>kua-</c> devices; fails with what it last saw.</summary>
    public async Task<Dictionary<string, string>> WaitForDevicesAsync(Func<Dictionary<string, string>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        Dictionary<string, string> last;
        while (true)
        {
            last = await AgentDevicesAsync();
            if (condition(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("QEMU's kua- devices never reached the expected state; last seen: [" + string.Join(", ", last.Keys) + "]\ndaemon stderr:\n" + Daemon?.Stderr);
            }

            await Task.Delay(50);
        }
    }

    private async Task<QmpConnection> ConnectCheckAsync()
    {
        Assert.True(MonitorEndpoint.TryParse("unix:" + Qemu!.ReadySocket, out MonitorEndpoint endpoint, out string? reason), reason);
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
        Directory.Delete(Work, recursive: true);
    }
}
