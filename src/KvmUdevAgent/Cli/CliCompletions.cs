using System.CommandLine;
using System.CommandLine.Completions;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary>
/// Completion sources for arguments whose values live in the installed configuration: rule names
/// (from <c>--rules-dir</c>, which defaults to the config's <c>rules_dir</c>) and VM names. The
/// bash completion asks the binary through System.CommandLine's <c>[suggest]</c> directive, so
/// these, like every verb and option, come from the live command tree.
/// </summary>
internal static class CliCompletions
{
    /// <summary>Completes a rule name; <paramref name="rulesDir"/> is the command's <c>--rules-dir</c> option.</summary>
    public static void AddRuleNames(Argument<string> argument, Option<string> rulesDir) =>
        argument.CompletionSources.Add(context => RuleNames(context.ParseResult.GetValue(rulesDir)));

    /// <summary>Completes a VM name from the installed configuration.</summary>
    public static void AddVmNames(Argument<string> argument) =>
        argument.CompletionSources.Add(_ => RulesCommand.KnownVms?.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>());

    // Best effort: a file with errors still names its rules, and an unreadable directory names none.
    private static SortedSet<string> RuleNames(string? directory)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (directory is null || !Directory.Exists(directory))
        {
            return names;
        }

        try
        {
            foreach (string file in RuleSetLoader.RuleFiles(directory))
            {
                foreach (RuleDefinition rule in RuleFileParser.Parse(file, File.ReadAllText(file)).Rules)
                {
                    names.Add(rule.Name);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return names;
    }
}
