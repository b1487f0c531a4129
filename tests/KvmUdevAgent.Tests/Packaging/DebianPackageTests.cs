using KvmUdevAgent.Tests.Cli;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Packaging;

/// <summary>
/// The Debian package, end to end on this (throwaway CI) machine: packaging/deb/build.sh builds it
/// from the NativeAOT binary test.sh published, lintian finds no error or warning, and dpkg installs
/// it for real: the binary runs, man(1) finds both pages, the installed bash completion completes
/// rule and VM names from the installed configuration, a reinstall keeps an edited conffile,
/// <c>dpkg -r</c> keeps configuration and state and <c>dpkg --purge</c> removes both. The machine
/// is left as it was found: the package is purged in <c>finally</c>, and the test refuses to start
/// when anything of the agent is installed already.
/// </summary>
[Collection(InstalledSystemGroup.Name)]
public sealed class DebianPackageTests : IDisposable
{
    private const string Package = "kvm-udev-agent";
    private const string ConfigDir = "/etc/kvm-udev-agent";
    private const string StateDir = "/var/lib/kvm-udev-agent";

    // What the package or its maintainer scripts touch outside its own files.
    private static readonly string[] s_systemdTraces =
    [
        "/etc/systemd/system/multi-user.target.wants/kvm-udev-agent.service",
        "/var/lib/systemd/deb-systemd-helper-enabled/kvm-udev-agent.service.dsh-also",
        "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/kvm-udev-agent.service",
        "/var/lib/systemd/deb-systemd-helper-masked/kvm-udev-agent.service",
        "/etc/systemd/system/kvm-udev-agent.service",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("kua-deb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Package_BuildLintInstallReinstallRemovePurge_LeavesTheMachineAsFound()
    {
        string binary = Environment.GetEnvironmentVariable("KUA_AOT_BINARY") is { Length: > 0 } aot
            ? aot
            : throw new InvalidOperationException("the package holds the NativeAOT binary: run ./test.sh (it exports KUA_AOT_BINARY), or publish one and set KUA_AOT_BINARY=/path/to/kvm-udev-agent");
        Assert.False((await DpkgStatusAsync()).Installed, "kvm-udev-agent is installed on this machine already; this test installs and purges it, so it will not run here");
        Assert.False(Directory.Exists(ConfigDir) || Directory.Exists(StateDir) || File.Exists("/usr/bin/kvm-udev-agent"),
            $"{ConfigDir}, {StateDir} or /usr/bin/kvm-udev-agent exists (install.sh?); this test would take them over, so it will not run here");
        string[] tracesBefore = [.. s_systemdTraces.Where(Path.Exists)];

        ProcessRunner.Result build = await ProcessRunner.RunAsync("bash", [Path.Combine(RepoPaths.Root, "packaging/deb/build.sh"), "--binary", binary, "--output", _dir]);
        Assert.True(build.ExitCode == 0, build.ToString());
        string deb = build.Stdout.Trim().Split('\n')[^1];
        Assert.Matches(@"/kvm-udev-agent_\d+\.\d+\.\d+-\d+_amd64\.deb\z", deb);

        // Its temporary files in this test's directory: lintian 2.116 leaves one (mldbm-elf-*) behind in TMPDIR.
        ProcessRunner.Result lintian = await ProcessRunner.RunAsync("lintian", ["--info", "--pedantic", "--fail-on", "error,warning", deb], new Dictionary<string, string> { ["TMPDIR"] = _dir }, timeout: TimeSpan.FromMinutes(5));
        Assert.True(lintian.ExitCode == 0 && !lintian.Stdout.Split('\n').Any(l => l.StartsWith("E:", StringComparison.Ordinal) || l.StartsWith("W:", StringComparison.Ordinal)), lintian.ToString());

        try
        {
            await DpkgAsync("-i", deb);
            Assert.Equal((true, "install ok installed"), await DpkgStatusAsync());
            ProcessRunner.Result version = await ProcessRunner.RunAsync("/usr/bin/kvm-udev-agent", ["--version"]);
            Assert.True(version.ExitCode == 0, version.ToString());
            Assert.Matches(@"\A\d+\.\d+\.\d+", version.Stdout);
            Assert.Equal("/usr/share/man/man8/kvm-udev-agent.8.gz", (await RunOkAsync("man", "-w", "kvm-udev-agent")).Trim());
            Assert.Equal("/usr/share/man/man5/kvm-udev-agent.rules.5.gz", (await RunOkAsync("man", "-w", "5", "kvm-udev-agent.rules")).Trim());
            Assert.Equal("drwx------", (await RunOkAsync("stat", "-c", "%A", StateDir)).Trim());

            // The installed completion, the installed binary on PATH, the installed config.
            const string completion = "/usr/share/bash-completion/completions/kvm-udev-agent";
            string[] rules = await CompletionTests.CompleteAsync(completion, "kvm-udev-agent rules enable ");
            Assert.Equal(["mount-flash"], rules.Where(r => !r.StartsWith('-')));
            Assert.Equal(["centos", "winxp"], (await CompletionTests.CompleteAsync(completion, "kvm-udev-agent attach sdb1 ")).Where(v => !v.StartsWith('-')));

            // An administrator's edit survives a reinstall (no question asked: the shipped file did not change).
            string config = Path.Combine(ConfigDir, "agent.yaml");
            await File.AppendAllTextAsync(config, "# edited by the administrator\n");
            await DpkgAsync("-i", deb);
            Assert.EndsWith("# edited by the administrator\n", await File.ReadAllTextAsync(config), StringComparison.Ordinal);

            // What the daemon would have written.
            await File.WriteAllTextAsync(Path.Combine(StateDir, "state.json"), "{}\n");

            await DpkgAsync("-r", Package);
            Assert.Equal((true, "deinstall ok config-files"), await DpkgStatusAsync());
            Assert.False(File.Exists("/usr/bin/kvm-udev-agent"));
            Assert.EndsWith("# edited by the administrator\n", await File.ReadAllTextAsync(config), StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(ConfigDir, "rules.d", "50-mount-flash.yaml")));
            Assert.True(File.Exists(Path.Combine(StateDir, "state.json")));

            await DpkgAsync("--purge", Package);
            Assert.False((await DpkgStatusAsync()).Installed);
            Assert.False(Directory.Exists(ConfigDir), ConfigDir + " is still there after purge");
            Assert.False(Directory.Exists(StateDir), StateDir + " is still there after purge");
        }
        finally
        {
            if ((await DpkgStatusAsync()).Installed)
            {
                await DpkgAsync("--purge", Package);
            }
        }

        Assert.Equal(tracesBefore, s_systemdTraces.Where(Path.Exists));
    }

    private static async Task<string> RunOkAsync(string program, params string[] args)
    {
        ProcessRunner.Result result = await ProcessRunner.RunAsync(program, args);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', args)}: {result}");
        return result.Stdout;
    }

    /// <summary>(whether dpkg knows the package in any state but not-installed, its status line).</summary>
    private static async Task<(bool Installed, string Status)> DpkgStatusAsync()
    {
        ProcessRunner.Result result = await ProcessRunner.RunAsync("dpkg-query", ["-W", "-f=${Status}", Package]);
        string status = result.ExitCode == 0 ? result.Stdout.Trim() : "";
        return (status.Length > 0 && !status.EndsWith("not-installed", StringComparison.Ordinal), status);
    }

    /// <summary>Runs dpkg; other engineers' apt-get may hold the dpkg lock for a while, so a locked database is waited for.</summary>
    private static async Task DpkgAsync(params string[] args)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            ProcessRunner.Result result = await ProcessRunner.RunAsync("dpkg", args, new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" });
            if (result.ExitCode == 0)
            {
                return;
            }

            bool locked = result.Stderr.Contains("lock", StringComparison.OrdinalIgnoreCase);
            Assert.True(locked && DateTime.UtcNow < deadline, $"dpkg {string.Join(' ', args)}: {result}");
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }
}
