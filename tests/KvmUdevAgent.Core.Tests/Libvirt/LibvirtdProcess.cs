using System.Diagnostics;
using System.Text;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Libvirt;

/// <summary>
/// A private libvirtd for tests, with nothing of the host's libvirt setup touched: <c>virtlogd</c>
/// runs in a mount namespace of its own in which <c>/etc/libvirt</c> (a copy, without autostarted
/// networks), <c>/run</c>, <c>/var/lib/libvirt</c>, <c>/var/cache/libvirt</c> and
/// <c>/var/log/libvirt</c> are directories of this object's temp dir; <c>libvirtd</c> is started
/// (and restarted) inside that namespace with <c>nsenter</c> and listens in a socket directory
/// the host sees, so the URI is <c>qemu:///system?socket=…</c>. Domains are TCG (<c>type='qemu'</c>),
/// q35, with <c>qemu-xhci</c>, started paused. Everything is stopped by PID in <see cref="DisposeAsync"/>:
/// domains destroyed, libvirtd and virtlogd, any QEMU left, and libvirt's cgroups of our domains.
/// </summary>
public sealed class LibvirtdProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(90);
    private readonly List<string> _domains = [];
    private readonly HashSet<string> _cgroupParentsBefore;
    private readonly StringBuilder _log = new();
    private Process? _virtlogd;
    private Process? _libvirtd;

    private LibvirtdProcess(string dir)
    {
        Dir = dir;
        _cgroupParentsBefore = [.. MachineCgroups()];
    }

    public string Dir { get; }

    public string SocketPath => Path.Combine(Dir, "sock", "libvirt-sock");

    public string Uri => "qemu:///system?socket=" + SocketPath;

    /// <summary>libvirtd's PID; 0 while stopped.</summary>
    public int Pid => _libvirtd is { HasExited: false } p ? p.Id : 0;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<LibvirtdProcess> StartAsync()
    {
        foreach ((string tool, string package) in new[] { ("libvirtd", "libvirt-daemon"), ("virtlogd", "libvirt-daemon"), ("virsh", "libvirt-clients"), ("unshare", "util-linux"), ("nsenter", "util-linux") })
        {
            ToolRunner.Require(tool, package);
        }

        if (!File.Exists("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"))
        {
            throw new InvalidOperationException("libvirt's QEMU driver is missing; install the Debian package 'libvirt-daemon-driver-qemu'");
        }

        if (ToolRunner.Find("id") is { } id && !(await ToolRunner.RunAsync(id, "-u", "libvirt-qemu").ContinueWith(t => t.IsCompletedSuccessfully)))
        {
            throw new InvalidOperationException("user libvirt-qemu is missing (libvirtd refuses to start without it); install the Debian package 'libvirt-daemon-system'");
        }

        var daemon = new LibvirtdProcess(Directory.CreateTempSubdirectory("kua-libvirt-").FullName);
        try
        {
            await daemon.SetUpAsync();
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    private async Task SetUpAsync()
    {
        foreach (string d in new[] { "etc", "run", "lib", "cache", "log", "sock" })
        {
            Directory.CreateDirectory(Path.Combine(Dir, d));
        }

        await ToolRunner.RunAsync(ToolRunner.Require("cp", "coreutils"), "-a", "/etc/libvirt/.", Path.Combine(Dir, "etc"));
        string autostart = Path.Combine(Dir, "etc", "qemu", "networks", "autostart");
        if (Directory.Exists(autostart))
        {
            // The default network would create a bridge in the host's network namespace.
            Directory.Delete(autostart, recursive: true);
            Directory.CreateDirectory(autostart);
        }

        File.WriteAllText(Path.Combine(Dir, "libvirtd.conf"), $"unix_sock_dir = \"{Path.Combine(Dir, "sock")}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nlog_filters = \"1:qemu.qemu_monitor 3:*\"\nlog_outputs = \"1:file:{MonitorLogPath}\"\n");
        string script = string.Join('\n',
            "set -e",
            $"mount --bind '{Dir}/etc' /etc/libvirt",
            "mount -t tmpfs -o mode=755 kua-run /run",
            "mkdir -p /run/libvirt",
            $"mount --bind '{Dir}/run' /run/libvirt",
            $"mount --bind '{Dir}/lib' /var/lib/libvirt",
            "mkdir -p /var/cache/libvirt",
            $"mount --bind '{Dir}/cache' /var/cache/libvirt",
            $"mount --bind '{Dir}/log' /var/log/libvirt",
            "exec virtlogd");
        _virtlogd = Start("unshare", "-m", "--propagation", "private", "--", "/bin/sh", "-c", script);
        await WaitAsync(() => File.Exists(Path.Combine(Dir, "run", "virtlogd-sock")), _virtlogd, "virtlogd");
        await StartLibvirtdAsync();
    }

    /// <summary>Starts libvirtd (again) inside virtlogd's mount namespace and waits until it answers.</summary>
    public async Task StartLibvirtdAsync()
    {
        if (Pid != 0)
        {
            throw new InvalidOperationException("libvirtd is already running");
        }

        File.Delete(SocketPath);
        _libvirtd = Start("nsenter", "-t", _virtlogd!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "-m", "--",
            "libvirtd", "--config", Path.Combine(Dir, "libvirtd.conf"), "--pid-file", Path.Combine(Dir, "libvirtd.pid"));
        await WaitAsync(() => File.Exists(SocketPath), _libvirtd, "libvirtd");
        await VirshAsync("version");
    }

    /// <summary>Stops libvirtd by PID (SIGTERM); its running domains keep running, as with a real restart.</summary>
    public async Task StopLibvirtdAsync()
    {
        if (_libvirtd is not { HasExited: false } p)
        {
            return;
        }

        _ = Tmds.Linux.LibC.kill(p.Id, Tmds.Linux.LibC.SIGTERM);
        try
        {
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
    }

    /// <summary>Defines and starts a TCG domain (paused), named uniquely from <paramref name="prefix"/>; returns its name.</summary>
    public async Task<string> CreateDomainAsync(string prefix = "kua-test", bool usbController = true)
    {
        string name = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        string xml = $"""
            <domain type='qemu'>
              <name>{name}</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='q35'>hvm</type></os>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <controller type='usb' model='{(usbController ? "qemu-xhci" : "none")}'/>
              </devices>
            </domain>
            """;
        string file = Path.Combine(Dir, name + ".xml");
        File.WriteAllText(file, xml);
        await VirshAsync("define", file);
        _domains.Add(name);
        await StartDomainAsync(name);
        return name;
    }

    public Task StartDomainAsync(string name) => VirshAsync("start", "--paused", name);

    public Task DestroyDomainAsync(string name) => VirshAsync("destroy", name);

    /// <summary>The domain's live XML as virsh shows it (tests only: the product never runs virsh).</summary>
    public Task<string> LiveXmlAsync(string name) => VirshAsync("dumpxml", name);

    /// <summary>The domain's log (QEMU's command line and stderr, libvirt's taint notes).</summary>
    public string DomainLog(string name)
    {
        string path = Path.Combine(Dir, "log", "qemu", name + ".log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>libvirtd's debug log of its QEMU monitors (every command, reply and event), kept for failure messages.</summary>
    private string MonitorLogPath => Path.Combine(Dir, "monitor-debug.log");

    /// <summary>
    /// What libvirtd said to its QEMUs about hot-unplug, for a failure message: each <c>device_del</c> and
    /// <c>blockdev-del</c> it sent with QEMU's reply, and each <c>DEVICE_DELETED</c> event, in order (all domains).
    /// </summary>
    public string UnplugTrace()
    {
        if (!File.Exists(MonitorLogPath))
        {
            return "(no monitor log)";
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var trace = new StringBuilder();
        foreach (string line in File.ReadLines(MonitorLogPath))
        {
            int at = line.IndexOf("QEMU_MONITOR_", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            string entry = line[at..];
            if (entry.StartsWith("QEMU_MONITOR_SEND_MSG", StringComparison.Ordinal)
                && (entry.Contains("\"device_del\"", StringComparison.Ordinal) || entry.Contains("\"blockdev-del\"", StringComparison.Ordinal))
                && System.Text.RegularExpressions.Regex.Match(entry, "\"id\":\"(libvirt-[0-9]+)\"") is { Success: true } sent)
            {
                ids.Add(sent.Groups[1].Value);
                trace.AppendLine(entry);
            }
            else if ((entry.StartsWith("QEMU_MONITOR_RECV_EVENT", StringComparison.Ordinal) && entry.Contains("DEVICE_DELETED", StringComparison.Ordinal))
                || (entry.StartsWith("QEMU_MONITOR_RECV_REPLY", StringComparison.Ordinal)
                    && System.Text.RegularExpressions.Regex.Match(entry, "\"id\": \"(libvirt-[0-9]+)\"") is { Success: true } reply && ids.Contains(reply.Groups[1].Value)))
            {
                trace.AppendLine(entry);
            }
        }

        return trace.ToString();
    }

    /// <summary>PID of the domain's QEMU, from libvirt's pid file.</summary>
    public int QemuPid(string name) =>
        int.Parse(File.ReadAllText(Path.Combine(Dir, "run", "qemu", name + ".pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The device nodes QEMU has open (its own view: /proc/PID/fd), e.g. <c>/dev/loop3</c>.</summary>
    public IReadOnlyList<string> QemuOpenDevices(string name)
    {
        var open = new List<string>();
        foreach (string fd in Directory.EnumerateFiles($"/proc/{QemuPid(name)}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("/dev/", StringComparison.Ordinal))
                {
                    open.Add(target);
                }
            }
            catch (IOException)
            {
                // The descriptor closed while we looked.
            }
        }

        return open;
    }

    public Task<string> VirshAsync(params string[] args) => ToolRunner.RunAsync(ToolRunner.Require("virsh", "libvirt-clients"), ["-c", Uri, .. args]);

    private Process Start(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(ToolRunner.Require(tool, "util-linux")) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + tool);
        DataReceivedEventHandler append = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_log)
                {
                    _log.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += append;
        process.OutputDataReceived += append;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    private async Task WaitAsync(Func<bool> ready, Process process, string what)
    {
        using var timeout = new CancellationTokenSource(s_readyTimeout);
        while (!ready())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{what} exited with {process.ExitCode}: {Log}");
            }

            try
            {
                await Task.Delay(50, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{what} was not ready within {s_readyTimeout}: {Log}");
            }
        }
    }

    private static IEnumerable<string> MachineCgroups() =>
        Directory.Exists("/sys/fs/cgroup") ? Directory.EnumerateDirectories("/sys/fs/cgroup").Select(c => Path.Combine(c, "machine")).Where(Directory.Exists) : [];

    public async ValueTask DisposeAsync()
    {
        var qemuPids = new List<int>();
        if (Pid != 0)
        {
            foreach (string name in _domains)
            {
                try
                {
                    await VirshAsync("destroy", name);
                }
                catch (InvalidOperationException)
                {
                    // Not running.
                }
            }
        }

        foreach (string name in _domains)
        {
            try
            {
                qemuPids.Add(QemuPid(name));
            }
            catch (IOException)
            {
            }
        }

        await StopLibvirtdAsync();
        foreach (int pid in qemuPids)
        {
            // A QEMU left running (libvirtd was down at the end of a test): killed by its own PID.
            if (File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("qemu-system", StringComparison.Ordinal))
            {
                _ = Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL);
            }
        }

        // A cgroup still holding a process cannot be removed: wait until the killed QEMUs are gone.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (qemuPids.Any(pid => Directory.Exists($"/proc/{pid}")) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        if (_virtlogd is { HasExited: false } v)
        {
            v.Kill();
            await v.WaitForExitAsync();
        }

        _virtlogd?.Dispose();
        _libvirtd?.Dispose();
        RemoveCgroups();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>libvirt's cgroups of our domains (left when a QEMU was killed rather than destroyed), and the <c>machine</c> parents it created.</summary>
    private void RemoveCgroups()
    {
        foreach (string machine in MachineCgroups())
        {
            foreach (string child in Directory.EnumerateDirectories(machine))
            {
                if (_domains.Any(d => Path.GetFileName(child).Contains(d, StringComparison.Ordinal)))
                {
                    RemoveTree(child);
                }
            }

            if (!_cgroupParentsBefore.Contains(machine) && !Directory.EnumerateDirectories(machine).Any())
            {
                TryRmdir(machine);
            }
        }
    }

    /// <summary>A domain's cgroup has children of its own (<c>emulator</c>, <c>vcpuN</c> under cgroup v1's cpu and cpuset): the deepest go first.</summary>
    private static void RemoveTree(string path)
    {
        string[] children;
        try
        {
            children = Directory.GetDirectories(path);
        }
        catch (DirectoryNotFoundException)
        {
            return;
        }

        foreach (string child in children)
        {
            RemoveTree(child);
        }

        TryRmdir(path);
    }

    private static void TryRmdir(string path)
    {
        try
        {
            // cgroup directories are removed with rmdir(2) even though they list files.
            Directory.Delete(path, recursive: false);
        }
        catch (IOException)
        {
        }
    }
}
