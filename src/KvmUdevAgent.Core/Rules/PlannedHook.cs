using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>Run <see cref="Argv"/> (already expanded, one element per argument, no shell), killed after <see cref="Timeout"/>.</summary>
internal sealed record PlannedHook(string Rule, ImmutableArray<string> Argv, TimeSpan Timeout) : PlannedAction(Rule)
{
    public override string Describe() => "run " + string.Join(' ', Argv.Select(Quote)) + $" (timeout {Durations.Format(Timeout)})";

    public bool Equals(PlannedHook? other) => other is not null && Rule == other.Rule && Argv.SequenceEqual(other.Argv) && Timeout == other.Timeout;

    public override int GetHashCode() => HashCode.Combine(Rule, Argv.Length, Timeout);

    // For display only; the argv is never handed to a shell.
    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' or '.' or ':' or '=' or ',')
            ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
