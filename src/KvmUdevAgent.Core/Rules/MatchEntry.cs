using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// One match condition as written: <see cref="Key"/> is a <see cref="MatchKeys"/> name; for
/// <c>attrs</c>/<c>props</c> <see cref="Name"/> is the attribute or property name. List keys
/// (<c>interfaces</c>) carry several patterns, the others exactly one.
/// </summary>
internal sealed record MatchEntry(string Key, string? Name, ImmutableArray<string> Patterns, SourcePosition Position)
{
    public bool Equals(MatchEntry? other) =>
        other is not null && Key == other.Key && Name == other.Name && Patterns.SequenceEqual(other.Patterns);

    public override int GetHashCode() => HashCode.Combine(Key, Name, Patterns.Length);
}
