using System.CommandLine;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary><c>rules remove NAME</c>: deletes one rule from its file, keeping the other rules and comments.</summary>
internal static class RulesRemoveCommand
{
    public static Command Create()
    {
        var rulesDir = RulesCommand.RulesDirOption();
        var name = new Argument<string>("name") { Description = "The rule's name." };
        CliCompletions.AddRuleNames(name, rulesDir);
        var command = new Command("remove", "Remove a rule from its file.") { name, rulesDir };
        command.SetAction((parseResult, _) => Task.FromResult(Invoke(parseResult.GetValue(rulesDir)!, parseResult.GetValue(name)!, Console.Out, Console.Error)));
        return command;
    }

    public static int Invoke(string rulesDir, string name, TextWriter stdout, TextWriter stderr) =>
        Edit(rulesDir, name, stdout, stderr, "removed",
            (file, text) => (RuleFileEditor.TryRemove(file, text, name, out string? edited, out string? reason), edited, reason));

    /// <summary>Finds the rule's file, applies <paramref name="edit"/>, checks the result still loads, writes it atomically.</summary>
    internal static int Edit(string rulesDir, string name, TextWriter stdout, TextWriter stderr, string verb,
        Func<string, string, (bool Ok, string? Edited, string? Reason)> edit)
    {
        if (RulesCommand.Load(rulesDir, stderr) is not { } rules)
        {
            return ExitCodes.DataError;
        }

        if (RulesCommand.Find(rules, name, stderr) is not { } rule)
        {
            return ExitCodes.NoInput;
        }

        var (ok, edited, reason) = edit(rule.File, File.ReadAllText(rule.File));
        if (!ok)
        {
            stderr.WriteLine($"kvm-udev-agent: {reason}");
            return ExitCodes.Failure;
        }

        var check = new RuleSetLoader(RulesCommand.KnownVms, null).LoadTexts(
            RuleSetLoader.RuleFiles(rulesDir).Select(f => (f, f == rule.File ? edited! : File.ReadAllText(f))), 1);
        if (!check.Succeeded)
        {
            foreach (RuleDiagnostic d in check.Diagnostics)
            {
                stderr.WriteLine(d.ToString());
            }

            stderr.WriteLine($"kvm-udev-agent: the edit would break {rule.File}; nothing changed");
            return ExitCodes.Failure;
        }

        RulesCommand.WriteAtomically(rule.File, edited!);
        stdout.WriteLine($"rule '{name}' {verb} in {rule.File}");
        return ExitCodes.Success;
    }
}
