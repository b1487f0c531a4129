using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Loads every <c>*.yaml</c>/<c>*.yml</c> file of the rules directory in ordinal file-name order,
/// checks permissions, parses, validates across files and compiles. Errors anywhere mean no set.
/// </summary>
internal sealed class RuleSetLoader(IReadOnlySet<string>? knownVms, RulePermissions? permissions)
{
    public static IEnumerable<string> RuleFiles(string directory) =>
        Directory.EnumerateFiles(directory)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal);

    public RuleLoadResult LoadDirectory(string directory, long generation)
    {
        var diagnostics = ImmutableArray.CreateBuilder<RuleDiagnostic>();
        if (permissions is not null)
        {
            // Hooks run as root: read exactly what was checked, through descriptors (issue 17).
            List<(string File, string Text)> files = RuleDirectoryReader.Read(directory, permissions, diagnostics);
            return Build([.. files.Select(f => RuleFileParser.Parse(f.File, f.Text, knownVms))], generation, diagnostics);
        }

        if (!Directory.Exists(directory))
        {
            diagnostics.Add(new RuleDiagnostic(directory, 0, 0, Severity.Error, DiagnosticCodes.FileUnreadable, "rules directory does not exist"));
            return new RuleLoadResult(null, diagnostics.ToImmutable());
        }

        return LoadFiles(RuleFiles(directory), generation, diagnostics);
    }

    public RuleLoadResult LoadFiles(IEnumerable<string> files, long generation, ImmutableArray<RuleDiagnostic>.Builder? diagnostics = null)
    {
        diagnostics ??= ImmutableArray.CreateBuilder<RuleDiagnostic>();
        var documents = new List<RuleDocument>();
        foreach (string file in files)
        {
            if (permissions is not null && !permissions.Check(file, isDirectory: false, out string? why))
            {
                diagnostics.Add(new RuleDiagnostic(file, 0, 0, Severity.Error, DiagnosticCodes.UnsafePermissions, why));
                continue;
            }

            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                diagnostics.Add(new RuleDiagnostic(file, 0, 0, Severity.Error, DiagnosticCodes.FileUnreadable, "cannot read: " + e.Message));
                continue;
            }

            documents.Add(RuleFileParser.Parse(file, text, knownVms));
        }

        return Build(documents, generation, diagnostics);
    }

    public RuleLoadResult LoadTexts(IEnumerable<(string File, string Text)> files, long generation) =>
        Build([.. files.Select(f => RuleFileParser.Parse(f.File, f.Text, knownVms))], generation, ImmutableArray.CreateBuilder<RuleDiagnostic>());

    private static RuleLoadResult Build(List<RuleDocument> documents, long generation, ImmutableArray<RuleDiagnostic>.Builder diagnostics)
    {
        foreach (RuleDocument document in documents)
        {
            diagnostics.AddRange(document.Diagnostics);
        }

        ImmutableArray<RuleDefinition> rules = [.. documents.SelectMany(d => d.Rules)];
        diagnostics.AddRange(RuleValidator.Validate(rules));
        ImmutableArray<RuleDiagnostic> all = diagnostics.ToImmutable();
        return all.Any(d => d.Severity == Severity.Error)
            ? new RuleLoadResult(null, all)
            : new RuleLoadResult(new RuleSet(rules, all, generation), all);
    }
}
