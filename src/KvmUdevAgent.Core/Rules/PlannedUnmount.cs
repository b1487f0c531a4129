namespace KvmUdevAgent.Core.Rules;

/// <summary>Unmount what <see cref="PlannedMount"/> mounted at <see cref="RelativePath"/>.</summary>
internal sealed record PlannedUnmount(string Rule, string RelativePath) : PlannedAction(Rule)
{
    public override string Describe() => $"unmount {RelativePath}";
}
