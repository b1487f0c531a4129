using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Packaging;

public sealed class InstallScriptTests : IDisposable
{
    private readonly string _destdir = Directory.CreateTempSubdirectory("kua-install-").FullName;

    public void Dispose() => Directory.Delete(_destdir, recursive: true);

    private Task<ProcessRunner.Result> InstallAsync(params string[] extra) =>
        ProcessRunner.RunAsync("bash", [Path.Combine(RepoPaths.Root, "install.sh"), "--binary", RepoPaths.AgentBinary, $"DESTDIR={_destdir}", .. extra]);

    private string[] Tree() =>
        Directory.EnumerateFileSystemEntries(_destdir, "*", SearchOption.AllDirectories)
            .Select(p => p[_destdir.Length..] + (Directory.Exists(p) ? "/" : "") + " " + Convert.ToString((int)File.GetUnixFileMode(p), 8))
            .Order(StringComparer.Ordinal)
            .ToArray();

    [Fact]
    public async Task Install_IntoDestdir_PutsFilesWithModes()
    {
        var result = await InstallAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] tree = Tree();
        Assert.Contains("/usr/local/bin/kvm-udev-agent 755", tree);
        Assert.Contains("/etc/kvm-udev-agent/agent.yaml 644", tree);
        Assert.Contains("/etc/kvm-udev-agent/rules.d/ 755", tree);
        Assert.Contains("/etc/systemd/system/kvm-udev-agent.service 644", tree);
        Assert.Contains("/var/lib/kvm-udev-agent/install-manifest 644", tree);
        Assert.Contains("/usr/local/share/man/man8/kvm-udev-agent.8 644", tree);
        Assert.Contains("/usr/local/share/man/man5/kvm-udev-agent.rules.5 644", tree);
        Assert.Contains("/usr/local/share/bash-completion/completions/kvm-udev-agent 644", tree);

        string unit = await File.ReadAllTextAsync(Path.Combine(_destdir, "etc/systemd/system/kvm-udev-agent.service"));
        Assert.Contains("Type=notify", unit, StringComparison.Ordinal);
        Assert.Contains("ExecStart=/usr/local/bin/kvm-udev-agent run --config /etc/kvm-udev-agent/agent.yaml", unit, StringComparison.Ordinal);
        Assert.Contains("Restart=on-failure", unit, StringComparison.Ordinal);
        Assert.DoesNotContain("@", unit.Replace("multi-user.target", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain(unit.Split('\n'), line => line.StartsWith("ProtectSystem=", StringComparison.Ordinal) || line.StartsWith("PrivateTmp=", StringComparison.Ordinal));

        string config = await File.ReadAllTextAsync(Path.Combine(_destdir, "etc/kvm-udev-agent/agent.yaml"));
        Assert.Contains("rules_dir: /etc/kvm-udev-agent/rules.d", config, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Install_Twice_ChangesNothing()
    {
        Assert.Equal(0, (await InstallAsync()).ExitCode);
        string[] before = Tree();
        var times = Directory.EnumerateFiles(_destdir, "*", SearchOption.AllDirectories).ToDictionary(p => p, File.GetLastWriteTimeUtc);
        var second = await InstallAsync();
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.DoesNotContain("installed", second.Stdout, StringComparison.Ordinal);
        Assert.Equal(before, Tree());
        Assert.All(times, kv => Assert.Equal(kv.Value, File.GetLastWriteTimeUtc(kv.Key)));
    }

    [Fact]
    public async Task Install_KeepsExistingConfig()
    {
        string config = Path.Combine(_destdir, "etc/kvm-udev-agent/agent.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        await File.WriteAllTextAsync(config, "source: kernel\n");
        var result = await InstallAsync();
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("kept /etc/kvm-udev-agent/agent.yaml (exists)", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("source: kernel\n", await File.ReadAllTextAsync(config));
    }

    [Fact]
    public async Task Uninstall_RemovesOnlyWhatItInstalled()
    {
        string mine = Path.Combine(_destdir, "usr/local/bin/other-tool");
        Directory.CreateDirectory(Path.GetDirectoryName(mine)!);
        await File.WriteAllTextAsync(mine, "not ours");
        Assert.Equal(0, (await InstallAsync()).ExitCode);
        string rule = Path.Combine(_destdir, "etc/kvm-udev-agent/rules.d/99-local.yaml");
        await File.WriteAllTextAsync(rule, "rules: []\n");
        string config = Path.Combine(_destdir, "etc/kvm-udev-agent/agent.yaml");
        await File.AppendAllTextAsync(config, "# edited\n");

        var result = await InstallAsync("--uninstall");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("kept /etc/kvm-udev-agent/agent.yaml (changed since it was installed)", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(
            [
                "/etc/ 755", "/etc/kvm-udev-agent/ 755", "/etc/kvm-udev-agent/agent.yaml 644",
                "/etc/kvm-udev-agent/rules.d/ 755", "/etc/kvm-udev-agent/rules.d/99-local.yaml 644",
                "/usr/ 755", "/usr/local/ 755", "/usr/local/bin/ 755", "/usr/local/bin/other-tool 644",
            ],
            Tree());
    }
}
