using System.Collections.Immutable;
using System.Text;
using KvmUdevAgent.Core.Qemu;

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

    /// <summary>
    /// What a load of <paramref name="directory"/> would read: every rule file's name and bytes, and
    /// how the permission check judges it and the directory. Equal fingerprints load the same rules;
    /// null when the directory cannot be read (then nothing can be said to be unchanged).
    /// </summary>
    public byte[]? Fingerprint(string directory)
    {
        var hash = new Sha256();
        try
        {
            AppendPermission(hash, directory, isDirectory: true);
            foreach (string file in RuleFiles(directory))
            {
                hash.Append(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\0"));
                AppendPermission(hash, file, isDirectory: false);
                byte[] bytes = File.ReadAllBytes(file);
                hash.Append(BitConverter.GetBytes(bytes.Length));
                hash.Append(bytes);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return hash.GetHashAndReset();
    }

    private void AppendPermission(Sha256 hash, string path, bool isDirectory)
    {
        if (permissions is not null)
        {
            bool ok = permissions.Check(path, isDirectory, out string? why);
            hash.Append(Encoding.UTF8.GetBytes((ok ? "ok" : why) + "\0"));
        }
    }

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
