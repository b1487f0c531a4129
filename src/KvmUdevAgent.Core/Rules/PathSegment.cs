using System.Text;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Turns an expanded template (device data: hostile) into one safe directory name: <c>/</c>,
/// backslashes, quotes, backticks and control characters become <c>_</c>; <c>.</c>, <c>..</c> and the
/// empty string become underscores; the name is cut to 200 characters (ext4/vfat allow 255 bytes).
/// </summary>
internal static class PathSegment
{
    public const int MaxLength = 200;

    public static string Sanitize(string value)
    {
        if (value.Length == 0 || value is "." or "..")
        {
            return new string('_', Math.Max(1, value.Length));
        }

        var sb = new StringBuilder(Math.Min(value.Length, MaxLength));
        foreach (char c in value)
        {
            if (sb.Length == MaxLength)
            {
                break;
            }

            bool bad = c is '/' or '\\' or '\'' or '"' or '`' or '\0' || char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029';
            sb.Append(bad ? '_' : c);
        }

        // Cutting could leave a trailing high surrogate half; IsSurrogate above already replaced those.
        return sb.ToString();
    }
}
