using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;
using KvmUdevAgent.Cli;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Cli;

/// <summary>
/// kvm-udev-agent(8) is generated from the command tree the binary parses with: every verb,
/// argument and option of <see cref="CommandRegistry"/> is in it (a verb added by anyone shows up,
/// and one the generator missed fails here), every exit code is explained, and man(1) renders both
/// pages the binary writes without a single groff warning.
/// </summary>
public sealed class ManPageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kua-man-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Generate_EveryCommandArgumentAndOption_IsListed()
    {
        RootCommand root = Program.CreateRootCommand();
        string man = ManPage.Generate(root, "1.2.3");
        var missing = new List<string>();
        void Walk(Command command, string path)
        {
            foreach (Command sub in command.Subcommands.Where(c => !c.Hidden))
            {
                string subPath = path + " " + sub.Name;
                if (sub.Action is not null && !man.Contains(".TP\n" + Roff.Bold(subPath), StringComparison.Ordinal))
                {
                    missing.Add(subPath);
                }

                missing.AddRange(sub.Arguments.Where(a => !man.Contains(Roff.Italic(a.HelpName ?? a.Name.ToUpperInvariant()), StringComparison.Ordinal)).Select(a => subPath + " " + a.Name));
                missing.AddRange(sub.Options.Where(o => o is not HelpOption and not VersionOption && !man.Contains(".TP\n" + Roff.Bold(o.Name), StringComparison.Ordinal)).Select(o => subPath + " " + o.Name));
                Walk(sub, subPath);
            }
        }

        Walk(root, "kvm-udev-agent");
        Assert.True(missing.Count == 0, "not in the manual page: " + string.Join(", ", missing));
        Assert.Contains(".TH KVM\\-UDEV\\-AGENT 8 \"\" \"kvm\\-udev\\-agent 1.2.3\"", man, StringComparison.Ordinal);
        Assert.DoesNotContain("generate\\-docs", man, StringComparison.Ordinal);
        Assert.All(Core.Configuration.AgentConfigLoader.Keys.SelectMany(k => k.Keys), key => Assert.Contains(Roff.Bold(key), man, StringComparison.Ordinal));
    }

    [Fact]
    public void Generate_EveryExitCode_IsExplained()
    {
        int[] constants = [.. typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (int)f.GetRawConstantValue()!).Order()];
        Assert.Equal(constants, ExitCodes.All.Select(e => e.Code).Order());
        string man = ManPage.Generate(Program.CreateRootCommand(), "1");
        string exitStatus = man[man.IndexOf(".SH EXIT STATUS", StringComparison.Ordinal)..man.IndexOf(".SH SIGNALS", StringComparison.Ordinal)];
        Assert.All(constants, c => Assert.Contains($".TP\n\\fB{c}\\fR\n", exitStatus, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GenerateDocs_Binary_WritesPagesThatManRendersWithoutWarnings()
    {
        ProcessRunner.Result generated = await ProcessRunner.RunAsync(RepoPaths.AgentBinary, ["generate-docs", "--output", _dir]);
        Assert.True(generated.ExitCode == 0, generated.ToString());
        foreach (string page in (string[])["kvm-udev-agent.8", "kvm-udev-agent.rules.5"])
        {
            // man-db's own check (what lintian runs): groff with all warnings, output discarded.
            ProcessRunner.Result check = await ProcessRunner.RunAsync("man", ["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", Path.Combine(_dir, page)],
                new Dictionary<string, string> { ["LC_ALL"] = "C.UTF-8", ["MANWIDTH"] = "80" });
            Assert.True(check.ExitCode == 0 && check.Stderr.Length == 0, page + ": " + check);
        }

        ProcessRunner.Result text = await ProcessRunner.RunAsync("man", ["-l", Path.Combine(_dir, "kvm-udev-agent.8")],
            new Dictionary<string, string> { ["LC_ALL"] = "C.UTF-8", ["MANWIDTH"] = "200" });
        // grotty marks bold and italics with backspace overstrikes when not writing to a terminal.
        string plain = System.Text.RegularExpressions.Regex.Replace(text.Stdout, ".\b", "");
        Assert.Contains("kvm-udev-agent rules enable NAME [OPTIONS]", plain, StringComparison.Ordinal);
        Assert.Contains("--control-socket PATH", plain, StringComparison.Ordinal);
    }
}
