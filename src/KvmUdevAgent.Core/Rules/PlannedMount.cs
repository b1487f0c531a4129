using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Mount the device at <see cref="RelativePath"/> below the mount base. Each segment is already
/// sanitised (no <c>/</c>, <c>..</c>, quotes, backslashes or control characters), so joining it to
/// the base cannot leave the base.
/// </summary>
internal sealed record PlannedMount(string Rule, string RelativePath, ImmutableArray<string> Options, string? FsType) : PlannedAction(Rule)
{
    public override string Describe() => $"mount at {RelativePath} ({string.Join(',', Options)})" + (FsType is null ? string.Empty : $" as {FsType}");

    public bool Equals(PlannedMount? other) =>
        other is not null && Rule == other.Rule && RelativePath == other.RelativePath && Options.SequenceEqual(other.Options) && FsType == other.FsType;

    public override int GetHashCode() => HashCode.Combine(Rule, RelativePath, FsType);
}
