using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// What a reload did. On failure <see cref="ActiveGeneration"/> is the set still in force and
/// <see cref="AttemptedGeneration"/> the one that was refused; both go into the audit record.
/// </summary>
internal sealed record RuleReloadResult(bool Succeeded, long ActiveGeneration, long AttemptedGeneration, int RuleCount, ImmutableArray<RuleDiagnostic> Diagnostics);
