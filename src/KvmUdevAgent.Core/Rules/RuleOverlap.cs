namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// A conservative test for "no device can match both rules": true only when some key has
/// patterns that provably exclude each other (different exact values, a value and its negation,
/// a glob that cannot match the other's exact value). Anything unsure counts as overlapping.
/// </summary>
internal static class RuleOverlap
{
    public static bool AreDisjoint(RuleDefinition a, RuleDefinition b)
    {
        foreach (MatchEntry x in a.Match)
        {
            if (x.Key == MatchKeys.Interfaces)
            {
                continue;
            }

            foreach (MatchEntry y in b.Match)
            {
                if (x.Key == y.Key && x.Name == y.Name && Excludes(x.Patterns[0], y.Patterns[0], MatchKeys.ByName[x.Key].AllowsNegation))
                {
                    return true;
                }
            }
        }

        // Two rules without an 'action' key both handle add; an explicit action on one side can still exclude.
        return false;
    }

    private static bool Excludes(string p, string q, bool negation)
    {
        if (!ValuePattern.TryParse(p, negation, out var x, out _) || !ValuePattern.TryParse(q, negation, out var y, out _))
        {
            return false;
        }

        if (x.Negated && y.Negated)
        {
            return false;
        }

        if (x.Negated || y.Negated)
        {
            // "!v" excludes exactly the values v allows, so it is disjoint from a positive pattern
            // only when the positive pattern's values are all inside v: same exact set.
            ValuePattern neg = x.Negated ? x : y, pos = x.Negated ? y : x;
            return pos.Kind == PatternKind.Exact && pos.Alternatives.All(v => neg.IsMatch(v, true) == false);
        }

        if (x.Kind == PatternKind.Exact && y.Kind == PatternKind.Exact)
        {
            return !x.Alternatives.Intersect(y.Alternatives, StringComparer.Ordinal).Any();
        }

        if (x.Kind == PatternKind.Exact)
        {
            return x.Alternatives.All(v => !y.IsMatch(v, true));
        }

        if (y.Kind == PatternKind.Exact)
        {
            return y.Alternatives.All(v => !x.IsMatch(v, true));
        }

        return false;
    }
}
