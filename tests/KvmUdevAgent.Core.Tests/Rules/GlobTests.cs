using System.Runtime.InteropServices;
using CsCheck;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed partial class GlobTests
{
    [LibraryImport("libc.so.6", EntryPoint = "fnmatch", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LibcFnmatch(string pattern, string text, int flags);

    private static bool Oracle(string pattern, string text) => LibcFnmatch(pattern, text, 0) == 0;

    [Fact]
    public void IsMatch_GeneratedPatterns_AgreesWithLibcFnmatch()
    {
        // A small alphabet with every metacharacter makes collisions (and so interesting cases) likely.
        var patterns = Gen.String[Gen.Char["ab*?[]!^-\\"], 0, 9];
        var texts = Gen.String[Gen.Char["ab[]!^-\\*?"], 0, 7];
        Gen.Select(patterns.Where(p => Glob.Validate(p, out _)), texts).Sample(
            (pattern, text) => Glob.IsMatch(pattern, text) == Oracle(pattern, text),
            iter: 200_000);
    }

    [Fact]
    public void IsMatch_PatternsBuiltFromText_AgreesWithLibcFnmatch()
    {
        // Patterns derived from the text hit the matching branches far more often than random ones.
        var gen = from text in Gen.String[Gen.Char["abc-"], 0, 8]
                  from edits in Gen.Int[0, 3].Array[0, 4]
                  select (text, Mutate(text, edits));
        gen.Where(t => Glob.Validate(t.Item2, out _)).Sample(t => Glob.IsMatch(t.Item2, t.text) == Oracle(t.Item2, t.text), iter: 100_000);
    }

    private static string Mutate(string text, int[] edits)
    {
        var chars = text.ToList();
        for (int i = 0; i < edits.Length && chars.Count > 0; i++)
        {
            int at = (i * 7 + edits[i]) % chars.Count;
            switch (edits[i])
            {
                case 0: chars[at] = '?'; break;
                case 1: chars.Insert(at, '*'); break;
                case 2: chars[at] = '['; chars.Insert(at + 1, 'a'); chars.Insert(at + 2, '-'); chars.Insert(at + 3, 'c'); chars.Insert(at + 4, ']'); break;
                default: chars.Insert(at, '\\'); break;
            }
        }

        return new string([.. chars]);
    }

    [Theory]
    [InlineData("sd[a-z]", "sdb", true)]
    [InlineData("sd[!a-c]", "sdb", false)]
    [InlineData("sd[^a-c]", "sdd", true)]
    [InlineData("[]a]", "]", true)]
    [InlineData("[!]]", "a", true)]
    [InlineData("*", "", true)]
    [InlineData("*/x", "a/b/x", true)]
    [InlineData("\\*", "*", true)]
    [InlineData("\\*", "a", false)]
    [InlineData("08:*:*", "08:06:50", true)]
    [InlineData("08:*:*", "03:01:01", false)]
    public void IsMatch_KnownCases_MatchesLikeFnmatch(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Glob.IsMatch(pattern, text));
        Assert.Equal(expected, Oracle(pattern, text));
    }

    [Theory]
    [InlineData("usb|block", "block", true, true)]
    [InlineData("usb|block", "net", true, false)]
    [InlineData("!usb|block", "net", true, true)]
    [InlineData("!usb|block", "usb", true, false)]
    [InlineData("*", "", false, false)]
    [InlineData("!*", "", false, true)]
    [InlineData("", "", false, true)]
    [InlineData("", "x", true, false)]
    [InlineData("!", "x", true, true)]
    [InlineData("sd?|vd*", "vda1", true, true)]
    public void ValuePattern_AlternativesAndNegation_FollowUdev(string pattern, string value, bool present, bool expected)
    {
        Assert.True(ValuePattern.TryParse(pattern, allowNegation: true, out var compiled, out _));
        Assert.Equal(expected, compiled.IsMatch(value, present));
    }

    [Theory]
    [InlineData("*", (int)PatternKind.Any)]
    [InlineData("", (int)PatternKind.Empty)]
    [InlineData("usb", (int)PatternKind.Exact)]
    [InlineData("usb|block", (int)PatternKind.Exact)]
    [InlineData("sd[a-z]", (int)PatternKind.Glob)]
    [InlineData("!usb", (int)PatternKind.Exact)]
    public void ValuePattern_Kind_DecidedAtCompileTime(string pattern, int kind)
    {
        Assert.True(ValuePattern.TryParse(pattern, true, out var compiled, out _));
        Assert.Equal((PatternKind)kind, compiled.Kind);
    }

    [Theory]
    [InlineData("abc\\", "trailing backslash escapes nothing")]
    [InlineData("a[b-", "unterminated '[' bracket expression; write \\[ for a literal '['")]
    [InlineData("[[:alpha:]]", "character classes such as [[:alpha:]] are not supported; list the characters or a range")]
    public void Validate_RefusedConstructs_SayWhy(string pattern, string reason)
    {
        Assert.False(Glob.Validate(pattern, out string? why));
        Assert.Equal(reason, why);
    }
}
