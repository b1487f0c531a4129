namespace KvmUdevAgent.Core.Rules;

/// <summary>One line of <c>rules list</c>.</summary>
internal sealed record RuleListing(string Name, string File, bool Enabled, string Match, string Action)
{
    public static RuleListing From(RuleDefinition rule) =>
        new(rule.Name, rule.File, rule.Enabled, RuleWriter.Summary(rule), RuleWriter.ActionSummary(rule));
}
