using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Rules;

/// <summary>The outcome of loading a rules directory: a set when there were no errors, and every diagnostic either way.</summary>
internal sealed record RuleLoadResult(RuleSet? RuleSet, ImmutableArray<RuleDiagnostic> Diagnostics)
{
    [MemberNotNullWhen(true, nameof(RuleSet))]
    public bool Succeeded => RuleSet is not null;

    public bool HasWarnings => Diagnostics.Any(d => d.Severity == Severity.Warning);

    public bool HasStyle => Diagnostics.Any(d => d.Severity == Severity.Style);
}
