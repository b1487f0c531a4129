using System.CommandLine;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary><c>rules enable|disable NAME</c>: flips <c>enabled:</c> in place, keeping the rest of the file as written.</summary>
internal static class RulesEnableCommand
{
    public static Command Create(bool enable)
    {
        var rulesDir = RulesCommand.RulesDirOption();
        var name = new Argument<string>("name") { Description = "The rule's name." };
        CliCompletions.AddRuleNames(name, rulesDir);
        var command = new Command(enable ? "enable" : "disable", enable ? "Enable a rule." : "Disable a rule (it stays in its file).") { name, rulesDir };
        command.SetAction((parseResult, _) => Task.FromResult(Invoke(parseResult.GetValue(rulesDir)!, parseResult.GetValue(name)!, enable, Console.Out, Console.Error)));
        return command;
    }

    public static int Invoke(string rulesDir, string name, bool enable, TextWriter stdout, TextWriter stderr) =>
        RulesRemoveCommand.Edit(rulesDir, name, stdout, stderr, enable ? "enabled" : "disabled",
            (file, text) => (RuleFileEditor.TrySetEnabled(file, text, name, enable, out string? edited, out string? reason), edited, reason));
}
