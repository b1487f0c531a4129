using System.CommandLine;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary><c>rules show NAME</c>: the rule as YAML that loads back to the same rule.</summary>
internal static class RulesShowCommand
{
    public static Command Create()
    {
        var rulesDir = RulesCommand.RulesDirOption();
        var json = RulesCommand.JsonOption();
        var name = new Argument<string>("name") { Description = "The rule's name." };
        CliCompletions.AddRuleNames(name, rulesDir);
        var command = new Command("show", "Print one rule as YAML (it round-trips: load, show, load gives the same rule).") { name, rulesDir, json };
        command.SetAction((parseResult, _) => Task.FromResult(Invoke(parseResult.GetValue(rulesDir)!, parseResult.GetValue(name)!, Console.Out, Console.Error, parseResult.GetValue(json))));
        return command;
    }

    public static int Invoke(string rulesDir, string name, TextWriter stdout, TextWriter stderr, bool json = false)
    {
        if (RulesCommand.Load(rulesDir, stderr) is not { } rules)
        {
            return ExitCodes.DataError;
        }

        if (RulesCommand.Find(rules, name, stderr) is not { } rule)
        {
            return ExitCodes.NoInput;
        }

        string yaml = RuleWriter.Write([rule]);
        if (json)
        {
            RulesCommand.WriteJson(stdout, new RuleShowResult(rule.Name, rule.File, rule.Position.Line, rule.Enabled, yaml), RulesJsonContext.Default.RuleShowResult);
            return ExitCodes.Success;
        }

        stdout.Write($"# {rule.File}:{rule.Position.Line}\n");
        stdout.Write(yaml);
        return ExitCodes.Success;
    }
}
