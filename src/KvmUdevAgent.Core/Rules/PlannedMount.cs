using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Mount the device at <see cref="RelativePath"/> below the mount base. Each segment is already
/// sanitised (no <c>/</c>, <c>..</c>, quotes, backslashes or control characters), so joining it to
/// the base cannot leave the base.
/// </summary>
internal sealed record PlannedMount(string Rule, string RelativePath, ImmutableArray<string> Options, string? FsType) : PlannedAction(Rule)
{
    /// <summary><c>mount at PATH (OPTION,OPTION)[ as FSTYPE]</c>.</summary>
    public override void Describe(TextWriter output)
    {
        output.Write("mount at ");
        output.Write(RelativePath);
        output.Write(" (");
        for (int i = 0; i < Options.Length; i++)
        {
            if (i > 0)
            {
                output.Write(',');
            }

            output.Write(Options[i]);
        }

        output.Write(')');
        if (FsType is not null)
        {
            output.Write(" as ");
            output.Write(FsType);
        }
    }

    public bool Equals(PlannedMount? other) =>
        other is not null && Rule == other.Rule && RelativePath == other.RelativePath && Options.SequenceEqual(other.Options) && FsType == other.FsType;

    public override int GetHashCode() => HashCode.Combine(Rule, RelativePath, FsType);
}
