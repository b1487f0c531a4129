using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// A compiled value pattern: a leading <c>!</c> negates the whole pattern, <c>|</c> separates
/// alternatives (as udev does), each alternative is an fnmatch(3) glob. A missing value matches
/// only the empty pattern <c>""</c>, so <c>*</c> means "present" and <c>!*</c> means "absent".
/// </summary>
internal sealed class ValuePattern
{
    private readonly string[] _alternatives;
    private readonly string? _single;

    private ValuePattern(string text, bool negated, PatternKind kind, string[] alternatives)
    {
        Text = text;
        Negated = negated;
        Kind = kind;
        _alternatives = alternatives;
        _single = kind == PatternKind.Exact && alternatives.Length == 1 ? alternatives[0] : null;
    }

    /// <summary>The one literal value of a plain exact pattern (<c>usb</c>, <c>!usb</c>), else null.</summary>
    public string? SingleExact => _single;

    /// <summary>The pattern as written in the rule.</summary>
    public string Text { get; }

    public bool Negated { get; }

    public PatternKind Kind { get; }

    public IReadOnlyList<string> Alternatives => _alternatives;

    /// <summary>Relative cost for ordering matchers: cheaper first.</summary>
    public int Cost => Kind switch
    {
        PatternKind.Any or PatternKind.Empty => 0,
        PatternKind.Exact => _alternatives.Length,
        _ => 4 * _alternatives.Length,
    };

    public static bool TryParse(string text, bool allowNegation, [NotNullWhen(true)] out ValuePattern? pattern, [NotNullWhen(false)] out string? reason)
    {
        pattern = null;
        bool negated = text.StartsWith('!');
        if (negated && !allowNegation)
        {
            reason = "this key does not accept a negated ('!') pattern";
            return false;
        }

        string body = negated ? text[1..] : text;
        string[] alternatives = body.Length == 0 ? [string.Empty] : body.Split('|');
        bool allLiteral = true;
        foreach (string alternative in alternatives)
        {
            if (!Glob.Validate(alternative, out reason))
            {
                reason ??= "bad pattern";
                return false;
            }

            allLiteral &= Glob.IsLiteral(alternative);
        }

        PatternKind kind = alternatives.Length == 1 && alternatives[0] == "*" ? PatternKind.Any
            : alternatives.Length == 1 && alternatives[0].Length == 0 ? PatternKind.Empty
            : allLiteral ? PatternKind.Exact
            : PatternKind.Glob;
        pattern = new ValuePattern(text, negated, kind, alternatives);
        reason = null;
        return true;
    }

    /// <summary>Whether <paramref name="value"/> matches; <paramref name="present"/> false means the value is missing.</summary>
    public bool IsMatch(ReadOnlySpan<char> value, bool present) =>
        (_single is not null ? present && value.SequenceEqual(_single) : MatchesPositive(value, present)) != Negated;

    private bool MatchesPositive(ReadOnlySpan<char> value, bool present)
    {
        switch (Kind)
        {
            case PatternKind.Any:
                return present;
            case PatternKind.Empty:
                return value.Length == 0;
            case PatternKind.Exact:
                if (!present)
                {
                    return false;
                }

                foreach (string alternative in _alternatives)
                {
                    if (value.SequenceEqual(alternative))
                    {
                        return true;
                    }
                }

                return false;
            default:
                if (!present)
                {
                    return false;
                }

                foreach (string alternative in _alternatives)
                {
                    if (Glob.IsMatch(alternative, value))
                    {
                        return true;
                    }
                }

                return false;
        }
    }
}
