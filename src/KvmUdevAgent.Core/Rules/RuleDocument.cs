using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>One parsed rule file: its rules (those that parsed) and every diagnostic found.</summary>
internal sealed record RuleDocument(string File, ImmutableArray<RuleDefinition> Rules, ImmutableArray<RuleDiagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.Severity == Severity.Error);
}
