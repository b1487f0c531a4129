namespace KvmUdevAgent.Core.Rules;

/// <summary>Give the device to <see cref="Vm"/>.</summary>
internal sealed record PlannedAttach(string Rule, string Vm, AttachKind Kind, bool ReadOnly) : PlannedAction(Rule)
{
    public override string Describe() => $"attach to {Vm} as {Kind.ToWord()}" + (ReadOnly ? ", read-only" : string.Empty);
}
