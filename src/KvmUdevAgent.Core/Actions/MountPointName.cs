using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Turns a label, UUID or kernel name (device data: hostile) into one safe directory name
/// inside the mount base. Rules already sanitise their templates; this runs again here
/// because the executor is the last line before the file system (defence in depth).
/// </summary>
internal static class MountPointName
{
    /// <summary>
    /// Upper bound in UTF-8 bytes, leaving room for a <c>-NNN</c> suffix well below NAME_MAX
    /// (255) and keeping paths readable in audit records.
    /// </summary>
    public const int MaxBytes = 128;

    private const char Replacement = '_';

    /// <summary>
    /// Replaces <c>/</c>, backslashes, quotes, backticks, control and format characters (including
    /// bidi overrides), line/paragraph separators and unpaired surrogates with <c>_</c>; replaces
    /// leading dots and dashes (no <c>.</c>, <c>..</c>, hidden names or names that look like
    /// options); trims surrounding white space; cuts to <see cref="MaxBytes"/> on a character
    /// boundary. An empty result falls back to <paramref name="fallback"/> (the kernel name),
    /// sanitised the same way, and then to <c>disk</c>.
    /// </summary>
    public static string Sanitize(string? name, string? fallback)
    {
        var result = SanitizeOne(name);
        if (result.Length == 0)
        {
            result = SanitizeOne(fallback);
        }
        return result.Length == 0 ? "disk" : result;
    }

    /// <summary>The name for the <paramref name="attempt"/>-th candidate: <c>NAME</c>, then <c>NAME-2</c>, <c>NAME-3</c>, ...</summary>
    public static string WithSuffix(string name, int attempt) =>
        attempt <= 1 ? name : string.Create(CultureInfo.InvariantCulture, $"{name}-{attempt}");

    private static string SanitizeOne(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "";
        }
        var builder = new StringBuilder(name.Length);
        var bytes = 0;
        var leading = true;
        // EnumerateRunes yields U+FFFD for an unpaired surrogate, which IsForbidden replaces.
        foreach (var rune in name.EnumerateRunes())
        {
            var r = rune;
            if (IsForbidden(r) || (leading && (r.Value == '.' || r.Value == '-')))
            {
                r = new Rune(Replacement);
            }
            if (leading && Rune.IsWhiteSpace(r))
            {
                continue;
            }
            leading = false;
            if (bytes + r.Utf8SequenceLength > MaxBytes)
            {
                break;
            }
            bytes += r.Utf8SequenceLength;
            builder.Append(r.ToString());
        }
        return builder.ToString().TrimEnd();
    }

    private static bool IsForbidden(Rune r)
    {
        if (r.Value is '/' or '\\' or '"' or '\'' or '`' || r == Rune.ReplacementChar)
        {
            return true;
        }
        var category = Rune.GetUnicodeCategory(r);
        return category is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }
}
