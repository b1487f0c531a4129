using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>Run <see cref="Argv"/> (already expanded, one element per argument, no shell), killed after <see cref="Timeout"/>.</summary>
internal sealed record PlannedHook(string Rule, ImmutableArray<string> Argv, TimeSpan Timeout) : PlannedAction(Rule)
{
    /// <summary>
    /// Why the hook must not run, or null. Set when an argument that starts with a template expands
    /// to something starting with '-' without a "--" before it: a device string would become an
    /// option of the program (issue 17).
    /// </summary>
    public string? Refusal { get; init; }

    public override string Describe() =>
        "run " + string.Join(' ', Argv.Select(Quote)) + $" (timeout {Durations.Format(Timeout)})" + (Refusal is null ? "" : " refused: " + Refusal);

    /// <summary>The refusal for <paramref name="argv"/> expanded from <paramref name="templates"/>, or null when every argument is safe.</summary>
    public static string? Refuse(ImmutableArray<Template> templates, ImmutableArray<string> argv)
    {
        for (int i = 1; i < templates.Length; i++)
        {
            if (!templates[i].HasPlaceholders && templates[i].Text == "--")
            {
                return null;
            }

            if (templates[i].StartsWithPlaceholder && argv[i].StartsWith('-'))
            {
                return $"argument {i + 1} ({templates[i].Text}) expands to '{argv[i]}', which starts with '-'; put \"--\" before it if the program takes it as an operand";
            }
        }

        return null;
    }

    public bool Equals(PlannedHook? other) => other is not null && Rule == other.Rule && Argv.SequenceEqual(other.Argv) && Timeout == other.Timeout && Refusal == other.Refusal;

    public override int GetHashCode() => HashCode.Combine(Rule, Argv.Length, Timeout);

    // For display only; the argv is never handed to a shell.
    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' or '.' or ':' or '=' or ',')
            ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
