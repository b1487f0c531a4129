namespace KvmUdevAgent.Core.Rules;

/// <summary>Take the device back from <see cref="Vm"/> (the reverse of <see cref="PlannedAttach"/>).</summary>
internal sealed record PlannedDetach(string Rule, string Vm, AttachKind Kind) : PlannedAction(Rule)
{
    /// <summary><c>detach from VM (KIND)</c>.</summary>
    public override void Describe(TextWriter output)
    {
        output.Write("detach from ");
        output.Write(Vm);
        output.Write(" (");
        output.Write(Kind.ToWord());
        output.Write(')');
    }
}
