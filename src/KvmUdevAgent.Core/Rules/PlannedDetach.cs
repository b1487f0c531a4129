namespace KvmUdevAgent.Core.Rules;

/// <summary>Take the device back from <see cref="Vm"/> (the reverse of <see cref="PlannedAttach"/>).</summary>
internal sealed record PlannedDetach(string Rule, string Vm, AttachKind Kind) : PlannedAction(Rule)
{
    public override string Describe() => $"detach from {Vm} ({Kind.ToWord()})";
}
