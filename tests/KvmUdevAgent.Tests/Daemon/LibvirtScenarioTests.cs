using System.Xml.Linq;
using KvmUdevAgent.Core.Tests.Libvirt;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>Shares one private libvirtd between the libvirt daemon scenarios (its first start probes QEMU for seconds).</summary>
public sealed class LibvirtScenarioFixture : IAsyncLifetime
{
    public LibvirtdProcess Libvirtd { get; private set; } = null!;

    public async Task InitializeAsync() => Libvirtd = await LibvirtdProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (Libvirtd is not null)
        {
            await Libvirtd.DisposeAsync();
        }
    }
}

/// <summary>
/// The daemon routing a real loop drive to a VM that libvirt manages, through a real libvirtd
/// running a real (TCG) QEMU: the domain's live XML and QEMU's open descriptors are the proof.
/// </summary>
public sealed class LibvirtScenarioTests(LibvirtScenarioFixture fixture) : IClassFixture<LibvirtScenarioFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private Func<string>? _daemonLog;

    private LibvirtdProcess Libvirtd => fixture.Libvirtd;

    /// <summary>The property the plugging event carries when a test routes by the event alone (see <see cref="RouteAsync"/>).</summary>
    private const string RouteArg = "KUAROUTE"; // the kernel takes only letters and digits in a synthetic uevent's keys

    private static string Rule(string kernel, bool byEvent)
    {
        string props = byEvent ? $", props: {{ SYNTH_ARG_{RouteArg}: \"yes\" }}" : "";
        return $$"""
            rules:
              - name: loop-to-virt
                match: { subsystem: block, kernel: "{{kernel}}"{{props}} }
                attach: { vm: virt, as: usb-storage, read_only: true, removable: true }
            """;
    }

    private async Task<DaemonEnvironment> EnvironmentAsync(string domain, LoopDevice loop, string? uri = null, bool byEvent = false)
    {
        DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        env.WriteRules("10-loop.yaml", Rule(loop.Name, byEvent));
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys", extraVms: $"  virt: {{ libvirt: \"{domain}\", uri: \"{uri ?? Libvirtd.Uri}\" }}\n");
        return env;
    }

    [Fact]
    public async Task RoutedLoopDrive_ReadOnlyUsbDiskInLiveXml_QemuHasIt_RemovalTakesItOut_NotTainted()
    {
        await using Routed routed = await RouteAsync("kua-route", byEvent: true);
        (string domain, LoopDevice loop, DaemonEnvironment env) = (routed.Domain, routed.Loop, routed.Env);
        XElement disk = routed.Disk;
        Assert.StartsWith("ua-kua-b", (string?)disk.Element("alias")!.Attribute("name"), StringComparison.Ordinal);
        Assert.Equal("usb", (string?)disk.Element("target")!.Attribute("bus"));
        // A loop device is a fixed disk; the rule forces removable (issue 13) and libvirt's XML follows.
        Assert.Equal("on", (string?)disk.Element("target")!.Attribute("removable"));
        Assert.NotNull(disk.Element("readonly"));
        Assert.Contains(loop.DevicePath, Libvirtd.QemuOpenDevices(domain));
        var attached = await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, s_timeout);
        Assert.All(attached, m => Assert.Equal(("virt", "success"), (m.Element("kua@32473")["target"], m.Element("kua@32473")["outcome"])));
        ProcessRunner.Result vms = await ProcessRunner.RunAsync(RepoPaths.AgentBinary, ["vms", "--config", env.ConfigPath], timeout: s_timeout);
        string alias = (string)disk.Element("alias")!.Attribute("name")!;
        Assert.Contains($"virt  libvirt:{domain} ({Libvirtd.Uri})  libvirt {Libvirtd.Uri}  paused\n  {alias[3..]}  usb-storage  drive {loop.DevicePath}\n", vms.Stdout, StringComparison.Ordinal);

        loop.TriggerUevent("remove", Guid.NewGuid());
        await WaitForDiskAsync(domain, loop.DevicePath, present: false);
        await WaitForQemuReleaseAsync(domain, loop.DevicePath);
        await env.Syslog.WaitForAsync(m => m.MsgId == "device.detach", 1, s_timeout);
        string log = Libvirtd.DomainLog(domain);
        Assert.Contains("qemu-system-x86_64", log, StringComparison.Ordinal);
        Assert.DoesNotContain("tainted", log, StringComparison.Ordinal);
        await Libvirtd.DestroyDomainAsync(domain);
    }

    [Fact]
    public async Task DomainDestroyedAndStartedAgain_DriveAttachedAgain()
    {
        await using Routed routed = await RouteAsync("kua-reboot");
        (string domain, LoopDevice loop, DaemonEnvironment env) = (routed.Domain, routed.Loop, routed.Env);

        await Libvirtd.DestroyDomainAsync(domain);
        await Libvirtd.StartDomainAsync(domain);

        await WaitForDiskAsync(domain, loop.DevicePath, present: true);
        Assert.Contains(loop.DevicePath, Libvirtd.QemuOpenDevices(domain));
        await Libvirtd.DestroyDomainAsync(domain);
    }

    [Fact]
    public async Task LibvirtdRestarted_Reconnects_RemovalInBetweenReconciled()
    {
        await using Routed routed = await RouteAsync("kua-lvrestart", byEvent: true);
        (string domain, LoopDevice loop, DaemonEnvironment env) = (routed.Domain, routed.Loop, routed.Env);

        await Libvirtd.StopLibvirtdAsync();
        try
        {
            await env.Daemon!.WaitForLogAsync("closed the connection, reconnecting", s_timeout);
            loop.TriggerUevent("remove", Guid.NewGuid());
            var failed = await env.Syslog.WaitForAsync(m => m.MsgId == "device.detach", 1, s_timeout);
            Assert.Equal("failure", failed.Single().Element("kua@32473")["outcome"]);
        }
        finally
        {
            await Libvirtd.StartLibvirtdAsync();
        }

        await WaitForDiskAsync(domain, loop.DevicePath, present: false);
        await WaitForQemuReleaseAsync(domain, loop.DevicePath);
        Assert.Equal(2, CountOccurrences(env.Daemon.Stderr, "Connected to libvirtd at"));
        Assert.True(env.Daemon.Pid > 0 && !Process(env.Daemon).HasExited);
        await Libvirtd.DestroyDomainAsync(domain);
    }

    [Fact]
    public async Task AgentRestarted_NothingAttachedTwice()
    {
        await using Routed routed = await RouteAsync("kua-agentrestart");
        (string domain, LoopDevice loop, DaemonEnvironment env) = (routed.Domain, routed.Loop, routed.Env);
        DaemonProcess first = env.Daemon!;

        first.Signal(9);
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        DaemonProcess second = await env.StartDaemonAsync();
        await second.WaitForLogAsync("VM virt reconciled", s_timeout);

        Assert.Contains("VM virt reconciled: 0 attached, 0 detached, 1 unchanged, 0 failed", second.Stderr, StringComparison.Ordinal);
        XDocument live = XDocument.Parse(await Libvirtd.LiveXmlAsync(domain));
        Assert.Single(live.Root!.Element("devices")!.Elements("disk"), d => (string?)d.Element("source")?.Attribute("dev") == loop.DevicePath);
        await Libvirtd.DestroyDomainAsync(domain);
    }

    [Fact]
    public async Task UnknownDomain_AttachFailsAuditedNamingIt_DaemonKeepsRunning()
    {
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using DaemonEnvironment env = await EnvironmentAsync("no-such-domain", loop);
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("Connected to libvirtd at", s_timeout);

        loop.TriggerUevent("add", Guid.NewGuid());

        var failed = await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, s_timeout);
        Assert.Equal("failure", failed.Single().Element("kua@32473")["outcome"]);
        Assert.Equal($"libvirtd at {Libvirtd.Uri} has no domain named 'no-such-domain' (virsh -c '{Libvirtd.Uri}' list --all shows the names)", failed.Single().Element("kua@32473")["error"]);
        Assert.False(Process(env.Daemon).HasExited);
    }

    [Fact]
    public async Task LibvirtdDownAtStart_DaemonStarts_AttachesOnceLibvirtdAnswers()
    {
        string domain = await Libvirtd.CreateDomainAsync("kua-latelv");
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using DaemonEnvironment env = await EnvironmentAsync(domain, loop);
        await Libvirtd.StopLibvirtdAsync();
        try
        {
            await env.StartDaemonAsync();
            loop.TriggerUevent("add", Guid.NewGuid());
            var failed = await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, s_timeout);
            Assert.Contains("libvirtd at " + Libvirtd.Uri + " is not connected", failed.Single().Element("kua@32473")["error"], StringComparison.Ordinal);
        }
        finally
        {
            await Libvirtd.StartLibvirtdAsync();
        }

        await WaitForDiskAsync(domain, loop.DevicePath, present: true);
        await Libvirtd.DestroyDomainAsync(domain);
    }

    [Fact]
    public async Task LibvirtLibraryMissing_StartRefusedNamingThePackage()
    {
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        await using DaemonEnvironment env = await EnvironmentAsync("any", loop);

        // libvirt.so.0 hidden in a mount namespace of the daemon's own: dlopen finds an empty file.
        ProcessRunner.Result result = await ProcessRunner.RunAsync("unshare",
            ["-m", "--propagation", "private", "--", "/bin/sh", "-c",
             "mount --bind /dev/null \"$(readlink -f /usr/lib/x86_64-linux-gnu/libvirt.so.0)\" && exec \"$0\" run --config \"$1\"",
             RepoPaths.AgentBinary, env.ConfigPath],
            timeout: s_timeout);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("vm 'virt': libvirt.so.0 cannot be loaded, and the configuration has libvirt domains; install the Debian package 'libvirt0' (apt-get install libvirt0)", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A new domain, a loop drive routed to it by a running daemon (kernel add event), and the disk as the live XML shows it.
    /// A test that "unplugs" the drive with a synthetic remove routes <paramref name="byEvent"/>: the loop device stays in
    /// sysfs, and a resync (a SEQNUM gap, which other tests' network namespaces cause) would otherwise find it there and,
    /// matched by name alone, plug it in again.
    /// </summary>
    private async Task<Routed> RouteAsync(string prefix, bool byEvent = false)
    {
        string domain = await Libvirtd.CreateDomainAsync(prefix);
        LoopDevice loop = await LoopDevice.CreateAsync();
        DaemonEnvironment env = await EnvironmentAsync(domain, loop, byEvent: byEvent);
        var routed = new Routed(domain, loop, env);
        _daemonLog = () => env.Daemon?.Stderr ?? "";
        try
        {
            await env.StartDaemonAsync();
            await env.Daemon!.WaitForLogAsync("Connected to libvirtd at", s_timeout);
            loop.TriggerUevent("add", Guid.NewGuid(), (RouteArg, "yes"));
            routed.Disk = await WaitForDiskAsync(domain, loop.DevicePath, present: true);
            return routed;
        }
        catch
        {
            await routed.DisposeAsync();
            throw;
        }
    }

    private sealed class Routed(string domain, LoopDevice loop, DaemonEnvironment env) : IAsyncDisposable
    {
        public string Domain { get; } = domain;

        public LoopDevice Loop { get; } = loop;

        public DaemonEnvironment Env { get; } = env;

        public XElement Disk { get; set; } = null!;

        public async ValueTask DisposeAsync()
        {
            await Env.DisposeAsync();
            await Loop.DisposeAsync();
        }
    }

    /// <summary>libvirt drops the disk from the live XML at DEVICE_DELETED; QEMU closes the node a moment later (blockdev-del).</summary>
    private async Task WaitForQemuReleaseAsync(string domain, string devNode)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (Libvirtd.QemuOpenDevices(domain).Contains(devNode))
        {
            Assert.True(DateTime.UtcNow < deadline, $"QEMU of {domain} still has {devNode} open; libvirtd's unplug commands:\n{Libvirtd.UnplugTrace()}");
            await Task.Delay(50);
        }
    }

    private async Task<XElement> WaitForDiskAsync(string domain, string source, bool present)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            XDocument live = XDocument.Parse(await Libvirtd.LiveXmlAsync(domain));
            XElement? disk = live.Root!.Element("devices")!.Elements("disk").FirstOrDefault(d => (string?)d.Element("source")?.Attribute("dev") == source);
            if ((disk is not null) == present)
            {
                return disk!;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the disk {source} never became {(present ? "present" : "absent")} in domain {domain}; daemon stderr:\n{_daemonLog?.Invoke()}");
            }

            await Task.Delay(100);
        }
    }

    private static System.Diagnostics.Process Process(DaemonProcess daemon) => System.Diagnostics.Process.GetProcessById(daemon.Pid);

    private static int CountOccurrences(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
