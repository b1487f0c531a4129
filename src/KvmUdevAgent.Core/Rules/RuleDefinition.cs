using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// One rule as written (the syntax level, with positions). Equality ignores positions and the
/// file, so a rule that round-trips through <c>rules show</c> compares equal.
/// </summary>
internal sealed record RuleDefinition
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    public bool Enabled { get; init; } = true;

    public bool Final { get; init; }

    public ImmutableArray<MatchEntry> Match { get; init; } = [];

    public AttachSpec? Attach { get; init; }

    public MountSpec? Mount { get; init; }

    public HookSpec? Hook { get; init; }

    public string File { get; init; } = string.Empty;

    public SourcePosition Position { get; init; }

    public bool Equals(RuleDefinition? other) =>
        other is not null && Name == other.Name && Description == other.Description && Enabled == other.Enabled && Final == other.Final
        && Canonical(Match).SequenceEqual(Canonical(other.Match)) && Equals(Attach, other.Attach) && Equals(Mount, other.Mount) && Equals(Hook, other.Hook);

    // Match keys are a conjunction, so their written order does not change the rule ('rules show' writes table order).
    private static IEnumerable<MatchEntry> Canonical(ImmutableArray<MatchEntry> match) =>
        match.OrderBy(m => m.Key, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Name, Enabled, Final, Match.Length);
}
