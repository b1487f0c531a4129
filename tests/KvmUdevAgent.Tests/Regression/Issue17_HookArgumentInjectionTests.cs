using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Daemon;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 17, defect 3: a template expanded to the raw device string, leading '-' included, so a
/// filesystem label became an option of the hook's program. Now such an argument is refused
/// (the hook does not run, the audit says why) unless the rule puts "--" before it.
/// </summary>
public sealed class Issue17_HookArgumentInjectionTests
{
    private const string HostileLabel = "--evil";

    [Fact]
    public async Task LabelStartingWithDash_RefusedUnlessAfterDoubleDash()
    {
        string token = "t" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        await using LoopDevice loop = await LoopDevice.CreateAsync(ext4Label: HostileLabel);
        string hooks = Path.Combine(env.Work, "hooks");
        Directory.CreateDirectory(hooks);
        string bare = Script(hooks, "bare.sh");
        string guarded = Script(hooks, "guarded.sh");
        env.WriteRules("30-hooks.yaml", $$"""
            rules:
              - name: bare
                match: { subsystem: block, props: { SYNTH_ARG_RUNID: "{{token}}" } }
                hook: { run: ["{{bare}}", "--label", "{fs_label}"] }
              - name: guarded
                match: { subsystem: block, props: { SYNTH_ARG_RUNID: "{{token}}" } }
                hook: { run: ["{{guarded}}", "--", "{fs_label}"] }
            """);
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys");
        await env.StartDaemonAsync();

        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
        var records = await env.Syslog.WaitForAsync(m => m.MsgId == "device.hook", 2, TimeSpan.FromSeconds(20));
        ParsedSdElement Of(string rule) => records.Single(r => r.Element("kua@32473")["rule"] == rule).Element("kua@32473");

        Assert.Equal(HostileLabel, Of("bare")["label"]);
        Assert.Equal("failure", Of("bare")["outcome"]);
        Assert.Equal("refused: argument 3 ({fs_label}) expands to '--evil', which starts with '-'; put \"--\" before it if the program takes it as an operand", Of("bare")["error"]);
        Assert.False(File.Exists(bare + ".argv"), "the hook ran with a device string as an option");

        Assert.Equal("success", Of("guarded")["outcome"]);
        Assert.Equal(["--", HostileLabel], (await File.ReadAllTextAsync(guarded + ".argv")).TrimEnd('\n').Split('\n'));
    }

    private static string Script(string dir, string name)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.argv\"\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }
}
