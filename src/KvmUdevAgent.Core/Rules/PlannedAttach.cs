namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Give the device to <see cref="Vm"/>. For a drive, what the guest is shown: <see cref="Removable"/>
/// (usb-storage, resolved by <see cref="RuleSet.PlanAttach"/>; null for other kinds) and the drive's <see cref="Serial"/>
/// (hostile; the monitor decides whether it can be sent).
/// </summary>
internal sealed record PlannedAttach(string Rule, string Vm, AttachKind Kind, bool ReadOnly, bool? Removable = null, string? Serial = null) : PlannedAction(Rule)
{
    public override string Describe() => $"attach to {Vm} as {Kind.ToWord()}" + (ReadOnly ? ", read-only" : string.Empty)
        + (Removable is { } removable ? (removable ? ", removable" : ", fixed disk") : string.Empty)
        + (Serial is { } serial ? ", serial \"" + System.Text.Json.JsonEncodedText.Encode(serial) + "\"" : string.Empty);
}
