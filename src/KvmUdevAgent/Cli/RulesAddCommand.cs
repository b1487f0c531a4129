using System.CommandLine;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary><c>rules add FILE|-</c>: validates the file together with the installed rules, then installs it atomically, root-owned 0644.</summary>
internal static class RulesAddCommand
{
    public static Command Create()
    {
        var rulesDir = RulesCommand.RulesDirOption();
        var file = new Argument<string>("file") { Description = "A rule file, or - for standard input." };
        var name = new Option<string?>("--name") { Description = "File name to install as (default: the file's name, or the first rule's name for -)." };
        var command = new Command("add", "Validate a rule file and install it into the rules directory.") { file, rulesDir, name };
        command.SetAction((parseResult, _) => Task.FromResult(Invoke(parseResult.GetValue(rulesDir)!, parseResult.GetValue(file)!, parseResult.GetValue(name), Console.In, Console.Out, Console.Error)));
        return command;
    }

    public static int Invoke(string rulesDir, string file, string? installName, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        string text;
        if (file == "-")
        {
            text = stdin.ReadToEnd();
        }
        else if (File.Exists(file))
        {
            text = File.ReadAllText(file);
        }
        else
        {
            stderr.WriteLine($"kvm-udev-agent: {file}: no such file");
            return ExitCodes.NoInput;
        }

        string label = file == "-" ? "<stdin>" : file;
        RuleDocument document = RuleFileParser.Parse(label, text, RulesCommand.KnownVms);
        string target = installName ?? (file == "-" ? (document.Rules.FirstOrDefault()?.Name ?? "rules") + ".yaml" : Path.GetFileName(file));
        if (!target.EndsWith(".yaml", StringComparison.Ordinal) && !target.EndsWith(".yml", StringComparison.Ordinal))
        {
            target += ".yaml";
        }

        if (target.Contains('/', StringComparison.Ordinal) || target.StartsWith('.'))
        {
            stderr.WriteLine($"kvm-udev-agent: bad file name '{target}'; give a plain name with --name");
            return ExitCodes.Usage;
        }

        string destination = Path.Combine(rulesDir, target);
        if (File.Exists(destination))
        {
            stderr.WriteLine($"kvm-udev-agent: {destination} already exists; remove its rules first or pick another name with --name");
            return ExitCodes.Failure;
        }

        var existing = RuleSetLoader.RuleFiles(rulesDir).Select(f => (f, File.ReadAllText(f)));
        RuleLoadResult check = new RuleSetLoader(RulesCommand.KnownVms, null).LoadTexts(existing.Append((label, text)), 1);
        foreach (RuleDiagnostic d in check.Diagnostics)
        {
            stderr.WriteLine(d.ToString());
        }

        if (!check.Succeeded)
        {
            stderr.WriteLine("kvm-udev-agent: not installed; fix the errors above and try again");
            return ExitCodes.Failure;
        }

        RulesCommand.WriteAtomically(destination, text);
        stdout.WriteLine($"installed {document.Rules.Length} rule(s) as {destination}");
        return ExitCodes.Success;
    }
}
