using System.Text.Json;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Give the device to <see cref="Vm"/>. For a drive, what the guest is shown: <see cref="Removable"/>
/// (usb-storage, resolved by <see cref="RuleSet.PlanAttach"/>; null for other kinds) and the drive's <see cref="Serial"/>
/// (hostile; the monitor decides whether it can be sent).
/// </summary>
internal sealed record PlannedAttach(string Rule, string Vm, AttachKind Kind, bool ReadOnly, bool? Removable = null, string? Serial = null) : PlannedAction(Rule)
{
    /// <summary><c>attach to VM as KIND[, read-only][, removable|, fixed disk][, serial "JSON-ESCAPED"]</c>.</summary>
    public override void Describe(TextWriter output)
    {
        output.Write("attach to ");
        output.Write(Vm);
        output.Write(" as ");
        output.Write(Kind.ToWord());
        if (ReadOnly)
        {
            output.Write(", read-only");
        }

        if (Removable is { } removable)
        {
            output.Write(removable ? ", removable" : ", fixed disk");
        }

        if (Serial is { } serial)
        {
            // The serial is the device's: escaped as a JSON string's content, so no quote, control
            // character or line break of it reaches the log or the audit as itself.
            output.Write(", serial \"");
            output.Write(JsonEncodedText.Encode(serial).Value);
            output.Write('"');
        }
    }
}
