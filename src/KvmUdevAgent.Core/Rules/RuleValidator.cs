using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Checks across rules and against the configuration, after each file parsed: duplicate names,
/// and rule pairs that could both attach and
/// mount one device. Collects everything, never stops early.
/// </summary>
internal static class RuleValidator
{
    /// <param name="rules">All rules in evaluation order.</param>
    public static ImmutableArray<RuleDiagnostic> Validate(IReadOnlyList<RuleDefinition> rules)
    {
        var diagnostics = ImmutableArray.CreateBuilder<RuleDiagnostic>();
        var firstByName = new Dictionary<string, RuleDefinition>(StringComparer.Ordinal);
        foreach (RuleDefinition rule in rules)
        {
            if (!firstByName.TryAdd(rule.Name, rule))
            {
                RuleDefinition first = firstByName[rule.Name];
                diagnostics.Add(new RuleDiagnostic(rule.File, rule.Position.Line, rule.Position.Column, Severity.Error, DiagnosticCodes.DuplicateName,
                    $"duplicate rule name '{rule.Name}'; first defined at {first.File}:{first.Position.Line}:{first.Position.Column}"));
            }
        }

        var placing = rules.Where(r => r.Enabled && (r.Attach is not null || r.Mount is not null)).ToList();
        for (int i = 0; i < placing.Count; i++)
        {
            for (int j = i + 1; j < placing.Count; j++)
            {
                RuleDefinition a = placing[i], b = placing[j];
                if ((a.Attach is not null) == (b.Attach is not null) || a.Final || RuleOverlap.AreDisjoint(a, b))
                {
                    continue;
                }

                diagnostics.Add(new RuleDiagnostic(b.File, b.Position.Line, b.Position.Column, Severity.Warning, DiagnosticCodes.ConflictingRules,
                    $"rule '{b.Name}' ({(b.Attach is not null ? "attach" : "mount")}) can match the same device as rule '{a.Name}' "
                    + $"({(a.Attach is not null ? "attach" : "mount")}) at {a.File}:{a.Position.Line}; the earlier rule wins. "
                    + "Make the matches exclusive (e.g. serial: \"!...\") if that is not what you want"));
            }
        }

        return diagnostics.ToImmutable();
    }
}
