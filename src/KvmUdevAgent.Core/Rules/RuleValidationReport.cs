using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>What <c>rules validate</c> prints: the files checked, the rule count, every diagnostic.</summary>
internal sealed record RuleValidationReport(ImmutableArray<string> Files, int Rules, int Errors, int Warnings, int Style, ImmutableArray<RuleDiagnostic> Diagnostics);
