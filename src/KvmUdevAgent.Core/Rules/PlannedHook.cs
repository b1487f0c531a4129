using System.Buffers;
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

    private static readonly SearchValues<char> s_plain = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-_.:=,");

    /// <summary>What a shell user would read as the same argv, for people: <c>run /bin/true 'a b' (timeout 10s)[ refused: WHY]</c>.</summary>
    public override void Describe(TextWriter output)
    {
        output.Write("run ");
        for (int i = 0; i < Argv.Length; i++)
        {
            if (i > 0)
            {
                output.Write(' ');
            }

            Quote(Argv[i], output);
        }

        output.Write(" (timeout ");
        Durations.Write(Timeout, output);
        output.Write(')');
        if (Refusal is not null)
        {
            output.Write(" refused: ");
            output.Write(Refusal);
        }
    }

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

    /// <summary>
    /// For display only (the argv is never handed to a shell): an argument of only ASCII letters, digits
    /// and <c>/-_.:=,</c> as it is; any other, the empty one included, in single quotes, each <c>'</c> of
    /// it written <c>'\''</c>.
    /// </summary>
    private static void Quote(string arg, TextWriter output)
    {
        if (arg.Length > 0 && !arg.AsSpan().ContainsAnyExcept(s_plain))
        {
            output.Write(arg);
            return;
        }

        output.Write('\'');
        ReadOnlySpan<char> rest = arg;
        int quote;
        while ((quote = rest.IndexOf('\'')) >= 0)
        {
            output.Write(rest[..quote]);
            output.Write("'\\''");
            rest = rest[(quote + 1)..];
        }

        output.Write(rest);
        output.Write('\'');
    }
}
