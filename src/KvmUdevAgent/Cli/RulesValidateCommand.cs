using System.Collections.Immutable;
using System.CommandLine;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary><c>rules validate [PATH...]</c>: exit 0 clean, 1 errors, 2 warnings with <c>--strict</c>.</summary>
internal static class RulesValidateCommand
{
    public static Command Create()
    {
        var rulesDir = RulesCommand.RulesDirOption();
        var json = RulesCommand.JsonOption();
        var strict = new Option<bool>("--strict") { Description = "Exit 2 on warnings and style notes too." };
        var paths = new Argument<string[]>("path") { Description = "Rule files or directories; default: the rules directory.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("validate", "Check rule files and print every problem as file:line:column.") { paths, rulesDir, strict, json };
        command.SetAction((parseResult, _) => Task.FromResult(Invoke(
            parseResult.GetValue(paths) ?? [], parseResult.GetValue(rulesDir)!, parseResult.GetValue(strict), parseResult.GetValue(json), Console.Out, Console.Error)));
        return command;
    }

    public static int Invoke(string[] paths, string rulesDir, bool strict, bool json, TextWriter stdout, TextWriter stderr)
    {
        var files = new List<string>();
        foreach (string path in paths.Length == 0 ? [rulesDir] : paths)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(RuleSetLoader.RuleFiles(path));
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                stderr.WriteLine($"kvm-udev-agent: {path}: no such file or directory");
                return ExitCodes.NoInput;
            }
        }

        // The rules directory itself must also pass the checks the daemon applies (owners, modes, parents).
        RuleLoadResult result = paths.Length == 0
            ? new RuleSetLoader(RulesCommand.KnownVms, RulePermissions.Root).LoadDirectory(rulesDir, 1)
            : new RuleSetLoader(RulesCommand.KnownVms, null).LoadFiles(files, 1);
        ImmutableArray<RuleDiagnostic> diagnostics = result.Diagnostics;
        var report = new RuleValidationReport([.. files], result.RuleSet?.Definitions.Length ?? 0,
            diagnostics.Count(d => d.Severity == Severity.Error), diagnostics.Count(d => d.Severity == Severity.Warning),
            diagnostics.Count(d => d.Severity == Severity.Style), diagnostics);
        if (json)
        {
            RulesCommand.WriteJson(stdout, report, RulesJsonContext.Default.RuleValidationReport);
        }
        else
        {
            foreach (RuleDiagnostic d in diagnostics)
            {
                stdout.WriteLine(d.ToString());
            }

            stdout.WriteLine($"{files.Count} file(s), {report.Rules} rule(s): {report.Errors} error(s), {report.Warnings} warning(s), {report.Style} style note(s)");
        }

        return report.Errors > 0 ? ExitCodes.Failure
            : strict && (report.Warnings > 0 || report.Style > 0) ? ExitCodes.Warnings
            : ExitCodes.Success;
    }
}
