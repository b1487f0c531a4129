namespace KvmUdevAgent.Core.Rules;

/// <summary>Unmount what <see cref="PlannedMount"/> mounted at <see cref="RelativePath"/>.</summary>
internal sealed record PlannedUnmount(string Rule, string RelativePath) : PlannedAction(Rule)
{
    /// <summary><c>unmount PATH</c>.</summary>
    public override void Describe(TextWriter output)
    {
        output.Write("unmount ");
        output.Write(RelativePath);
    }
}
