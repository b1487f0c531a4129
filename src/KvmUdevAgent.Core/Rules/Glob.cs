namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Shell-style pattern matching with the semantics of glibc <c>fnmatch(3)</c> with flags 0
/// (<c>*</c>, <c>?</c>, <c>[...]</c> with <c>!</c>/<c>^</c> and ranges, backslash escapes; <c>*</c>
/// crosses <c>/</c> and leading dots), which is what udev applies to each <c>|</c> alternative.
/// Character classes (<c>[[:alpha:]]</c>) are refused by <see cref="Validate"/> rather than
/// half-supported. Matching allocates nothing.
/// </summary>
internal static class Glob
{
    /// <summary>True when <paramref name="pattern"/> has no glob metacharacter, so an ordinal compare decides.</summary>
    public static bool IsLiteral(ReadOnlySpan<char> pattern) => pattern.IndexOfAny("*?[\\") < 0;

    /// <summary>Checks a single alternative (no <c>|</c> splitting here) for constructs we refuse.</summary>
    public static bool Validate(ReadOnlySpan<char> pattern, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
    {
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                if (i + 1 == pattern.Length)
                {
                    // fnmatch: "trailing \ loses" - it could never match anything.
                    reason = "trailing backslash escapes nothing";
                    return false;
                }

                i++;
            }
            else if (c == '[')
            {
                int end = FindBracketEnd(pattern, i);
                if (end < 0)
                {
                    // glibc treats some unterminated brackets as a literal '[' and fails others
                    // outright ("[a-"); refuse them all rather than copy that.
                    reason = "unterminated '[' bracket expression; write \\[ for a literal '['";
                    return false;
                }

                if (pattern[i..end].Contains("[:", StringComparison.Ordinal))
                {
                    reason = "character classes such as [[:alpha:]] are not supported; list the characters or a range";
                    return false;
                }

                i = end - 1;
            }
        }

        reason = null;
        return true;
    }

    /// <summary>fnmatch(pattern, text, 0) == 0.</summary>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        // Iterative matcher with a single backtrack point for the last '*': any earlier star can
        // only ever need to absorb less than the later one, so one resume point is enough.
        int p = 0, t = 0;
        int starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length)
            {
                char pc = pattern[p];
                switch (pc)
                {
                    case '*':
                        starP = ++p;
                        starT = t;
                        continue;
                    case '?':
                        p++;
                        t++;
                        continue;
                    case '[':
                        {
                            int end = FindBracketEnd(pattern, p);
                            if (end > 0)
                            {
                                if (BracketMatches(pattern[(p + 1)..(end - 1)], text[t]))
                                {
                                    p = end;
                                    t++;
                                    continue;
                                }

                                break;
                            }

                            // An unterminated '[' is an ordinary character.
                            if (text[t] == '[')
                            {
                                p++;
                                t++;
                                continue;
                            }

                            break;
                        }

                    case '\\':
                        if (p + 1 < pattern.Length && pattern[p + 1] == text[t])
                        {
                            p += 2;
                            t++;
                            continue;
                        }

                        break;
                    default:
                        if (pc == text[t])
                        {
                            p++;
                            t++;
                            continue;
                        }

                        break;
                }
            }

            if (starP < 0)
            {
                return false;
            }

            p = starP;
            t = ++starT;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>
    /// Index just past the closing <c>]</c> of the bracket expression starting at <paramref name="open"/>,
    /// or -1 when it is unterminated. A <c>]</c> right after <c>[</c>, <c>[!</c> or <c>[^</c> is literal.
    /// </summary>
    private static int FindBracketEnd(ReadOnlySpan<char> pattern, int open)
    {
        int i = open + 1;
        if (i < pattern.Length && (pattern[i] == '!' || pattern[i] == '^'))
        {
            i++;
        }

        if (i < pattern.Length && pattern[i] == ']')
        {
            i++;
        }

        while (i < pattern.Length)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                i += 2;
                continue;
            }

            if (c == ']')
            {
                return i + 1;
            }

            i++;
        }

        return -1;
    }

    /// <summary>Matches one character against the inside of a bracket expression (without the brackets).</summary>
    private static bool BracketMatches(ReadOnlySpan<char> set, char c)
    {
        bool negate = false;
        int i = 0;
        if (set.Length > 0 && (set[0] == '!' || set[0] == '^'))
        {
            negate = true;
            i = 1;
        }

        bool matched = false;
        bool first = true;
        while (i < set.Length)
        {
            char lo = set[i];
            if (lo == '\\' && i + 1 < set.Length)
            {
                lo = set[++i];
            }
            else if (lo == ']' && !first)
            {
                break;
            }

            i++;
            first = false;
            if (i + 1 < set.Length && set[i] == '-')
            {
                int j = i + 1;
                char hi = set[j];
                if (hi == '\\' && j + 1 < set.Length)
                {
                    hi = set[++j];
                }

                if (c >= lo && c <= hi)
                {
                    matched = true;
                }

                i = j + 1;
                continue;
            }

            if (c == lo)
            {
                matched = true;
            }
        }

        return matched != negate;
    }
}
