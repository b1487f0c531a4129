using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 17, defect 2: rule files were checked by path and read by path again. With a parent of
/// <c>rules_dir</c> writable by a user, a symlink swap during <c>reload</c> made root run a hook
/// from a rule file outside the rules directory, owned by that user.
/// </summary>
public sealed class Issue17_RulesDirRaceTests
{
    private const int Tries = 200;

    [Fact]
    public async Task RulesDirParentWritable_SymlinkSwappedDuringReloads_NoHookFromOutsideRuns()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string attic = Path.Combine(env.Work, "attic");
        string rulesDir = Path.Combine(attic, "rules.d");
        string evilDir = Path.Combine(env.Work, "evil", "rules.d");
        string evilRan = Path.Combine(env.Work, "evil-ran");
        Directory.CreateDirectory(rulesDir);
        Directory.CreateDirectory(evilDir);
        File.WriteAllText(Path.Combine(rulesDir, "10-hook.yaml"), """
            rules:
              - name: benign
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: ["/bin/true"] }
            """);
        // Two rules, so that a reload that read this file says "rules=2" in its audit record.
        File.WriteAllText(Path.Combine(evilDir, "10-hook.yaml"), $$"""
            rules:
              - name: evil
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: ["/usr/bin/touch", "{{evilRan}}"] }
              - name: evil-too
                match: { subsystem: block }
                hook: { run: ["/bin/true"] }
            """);
        // The attacker's own files, as uid 65534 would leave them.
        foreach (string path in (string[])[Path.GetDirectoryName(evilDir)!, evilDir, Path.Combine(evilDir, "10-hook.yaml")])
        {
            Assert.Equal(0, (await ProcessRunner.RunAsync("chown", ["65534:65534", "--", path])).ExitCode);
        }

        env.WriteConfig(rulesDir: rulesDir);
        await env.StartDaemonAsync();
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));
        var drive = env.Sysfs.AddSeedFlashDrive();

        File.SetUnixFileMode(attic, (UnixFileMode)0b111_111_111);
        using var swapper = new SymlinkSwapper(rulesDir, evilDir);
        swapper.Start();
        try
        {
            // Reload until one reads the outside file (or the tries run out), then plug a device.
            for (int i = 1; i <= Tries; i++)
            {
                env.Daemon!.Signal(1);
                var reloads = await env.Syslog.WaitForAsync(m => m.MsgId == "rules.reload", i, TimeSpan.FromSeconds(20));
                if (reloads.Any(r => r.Element("kua@32473")["outcome"] == "success" && r.Element("kua.x@32473")["rules"] == "2"))
                {
                    break;
                }
            }
        }
        finally
        {
            swapper.Stop();
        }

        env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));
        await env.Syslog.WaitForAsync(m => m.MsgId == "device.hook", 1, TimeSpan.FromSeconds(20));
        Assert.True(swapper.Swaps > 0, "the swapper never swapped");
        Assert.False(File.Exists(evilRan), "root ran a hook from a rule file outside rules_dir");
        var hooks = env.Syslog.ReadAll().Where(m => m.MsgId == "device.hook").ToList();
        Assert.All(hooks, h => Assert.Equal("benign", h.Element("kua@32473")["rule"]));
        var failed = env.Syslog.ReadAll().First(m => m.MsgId == "rules.reload" && m.Element("kua@32473")["outcome"] == "failure");
        Assert.Contains("writable", failed.Element("kua@32473")["error"], StringComparison.Ordinal);
    }
}
