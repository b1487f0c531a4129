namespace KvmUdevAgent.Core.Rules;

/// <summary>What <c>rules show --json</c> prints: where the rule is and its YAML, which loads back to the same rule.</summary>
internal sealed record RuleShowResult(string Name, string File, int Line, bool Enabled, string Yaml);
