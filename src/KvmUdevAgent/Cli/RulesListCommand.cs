using System.CommandLine;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary><c>rules list</c>: name, file, enabled, one-line match and action.</summary>
internal static class RulesListCommand
{
    public static Command Create()
    {
        var rulesDir = RulesCommand.RulesDirOption();
        var json = RulesCommand.JsonOption();
        var command = new Command("list", "List the rules in evaluation order.") { rulesDir, json };
        command.SetAction((parseResult, _) => Task.FromResult(Invoke(parseResult.GetValue(rulesDir)!, parseResult.GetValue(json), Console.Out, Console.Error)));
        return command;
    }

    public static int Invoke(string rulesDir, bool json, TextWriter stdout, TextWriter stderr)
    {
        if (RulesCommand.Load(rulesDir, stderr) is not { } rules)
        {
            return ExitCodes.DataError;
        }

        List<RuleListing> listing = [.. rules.Definitions.Select(r => RuleListing.From(r) with { File = Path.GetFileName(r.File) })];
        if (json)
        {
            RulesCommand.WriteJson(stdout, listing, RulesJsonContext.Default.ListRuleListing);
            return ExitCodes.Success;
        }

        int nameWidth = Math.Max(4, listing.Count == 0 ? 0 : listing.Max(l => l.Name.Length));
        int fileWidth = Math.Max(4, listing.Count == 0 ? 0 : listing.Max(l => l.File.Length));
        stdout.WriteLine($"{"NAME".PadRight(nameWidth)}  {"FILE".PadRight(fileWidth)}  ENABLED  MATCH -> ACTION");
        foreach (RuleListing l in listing)
        {
            stdout.WriteLine($"{l.Name.PadRight(nameWidth)}  {l.File.PadRight(fileWidth)}  {(l.Enabled ? "yes" : "no "),-7}  {l.Match} -> {l.Action}");
        }

        return ExitCodes.Success;
    }
}
