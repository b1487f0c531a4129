using System.CommandLine;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Cli;

/// <summary>
/// The bash completion script (packaging/completion/kvm-udev-agent), run by a real bash against
/// the real binary: verbs and options come from the binary's command tree, rule names from the
/// rules directory. The installed-config case (rule and VM names with no option on the line) is
/// in <see cref="Packaging.DebianPackageTests"/>, where the package installs a config.
/// </summary>
public sealed class CompletionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kua-complete-").FullName;

    public CompletionTests()
    {
        // The script calls the program by the name typed; put the binary under test first in PATH.
        Directory.CreateDirectory(Path.Combine(_dir, "bin"));
        File.CreateSymbolicLink(Path.Combine(_dir, "bin", "kvm-udev-agent"), RepoPaths.AgentBinary);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Completes <paramref name="line"/> (the cursor at its end) as bash would on Tab; returns COMPREPLY.</summary>
    internal static async Task<string[]> CompleteAsync(string script, string line, string? pathPrefix = null)
    {
        // COMP_WORDS as bash splits the line; a trailing blank means a new, empty word.
        string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (line.EndsWith(' '))
        {
            words = [.. words, ""];
        }

        string program = $$"""
            source '{{script}}'
            COMP_LINE='{{line}}'
            COMP_POINT=${#COMP_LINE}
            COMP_WORDS=({{string.Join(' ', words.Select(w => "'" + w + "'"))}})
            COMP_CWORD={{words.Length - 1}}
            _kvm_udev_agent
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        var environment = new Dictionary<string, string>();
        if (pathPrefix is not null)
        {
            environment["PATH"] = pathPrefix + ":" + Environment.GetEnvironmentVariable("PATH");
        }

        ProcessRunner.Result result = await ProcessRunner.RunAsync("bash", ["--norc", "--noprofile", "-c", program], environment);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private Task<string[]> CompleteAsync(string line) =>
        CompleteAsync(Path.Combine(RepoPaths.Root, "packaging", "completion", "kvm-udev-agent"), line, Path.Combine(_dir, "bin"));

    [Fact]
    public async Task Complete_FirstWord_OffersEveryVerbOfTheCommandTree()
    {
        string[] offered = await CompleteAsync("kvm-udev-agent ");
        string[] verbs = [.. Program.CreateRootCommand().Subcommands.Where(c => !c.Hidden).Select(c => c.Name)];
        Assert.All(verbs, v => Assert.Contains(v, offered));
        Assert.DoesNotContain("/?", offered);
        Assert.DoesNotContain("generate-docs", offered);
    }

    [Fact]
    public async Task Complete_RunOptionPrefix_OffersItsOptions()
    {
        Assert.Equal(["--config", "--dry-run"], (await CompleteAsync("kvm-udev-agent run --")).Where(o => o is "--config" or "--dry-run").Order(StringComparer.Ordinal));
        Assert.Equal(["--log-format"], await CompleteAsync("kvm-udev-agent run --log"));
    }

    [Fact]
    public async Task Complete_RulesEnable_OffersTheRuleNamesOfTheRulesDirectory()
    {
        string rules = Path.Combine(_dir, "rules.d");
        Directory.CreateDirectory(rules);
        await File.WriteAllTextAsync(Path.Combine(rules, "10-a.yaml"), "rules:\n  - name: flash-to-winxp\n    match: { subsystem: usb }\n    attach: { vm: winxp }\n");
        await File.WriteAllTextAsync(Path.Combine(rules, "20-b.yaml"), "rules:\n  - name: mount-backup\n    match: { fs_label: BACKUP }\n    mount: { path: backup }\n  - name: flash-hook\n    match: { subsystem: usb }\n    hook: { run: [/bin/true] }\n");
        string[] offered = await CompleteAsync($"kvm-udev-agent rules enable --rules-dir {rules} ");
        Assert.Equal(["flash-hook", "flash-to-winxp", "mount-backup"], offered.Where(o => !o.StartsWith('-')));
        Assert.Equal(["flash-hook", "flash-to-winxp"], await CompleteAsync($"kvm-udev-agent rules show --rules-dir {rules} fla"));
    }
}
