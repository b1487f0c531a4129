using System.Globalization;

namespace KvmUdevAgent.Core.Rules;

/// <summary>Durations as rules write them: <c>500ms</c>, <c>10s</c>, <c>2m</c>.</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        (string digits, int factorMs) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1)
            : text.EndsWith('s') ? (text[..^1], 1000)
            : text.EndsWith('m') ? (text[..^1], 60_000)
            : (string.Empty, 0);
        if (digits.Length == 0 || digits.Length > 7 || !digits.All(char.IsAsciiDigit))
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds((long)int.Parse(digits, CultureInfo.InvariantCulture) * factorMs);
        return true;
    }

    public static string Format(TimeSpan value)
    {
        long ms = (long)value.TotalMilliseconds;
        return ms % 60_000 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{ms / 60_000}m")
            : ms % 1000 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{ms / 1000}s")
            : string.Create(CultureInfo.InvariantCulture, $"{ms}ms");
    }

    /// <summary><see cref="Format"/>'s text written into <paramref name="output"/>, with no string of its own.</summary>
    public static void Write(TimeSpan value, TextWriter output)
    {
        long ms = (long)value.TotalMilliseconds;
        (long number, string unit) = ms % 60_000 == 0 ? (ms / 60_000, "m") : ms % 1000 == 0 ? (ms / 1000, "s") : (ms, "ms");
        Span<char> digits = stackalloc char[20]; // long.MinValue is 20 characters
        number.TryFormat(digits, out int written, provider: CultureInfo.InvariantCulture);
        output.Write(digits[..written]);
        output.Write(unit);
    }
}
