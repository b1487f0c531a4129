namespace KvmUdevAgent.Core.Control;

/// <summary>
/// The result of a successful <c>reload</c> verb. A reload whose rules have errors answers with
/// <see cref="ControlErrorCodes.InvalidRules"/> instead, its message listing the diagnostics.
/// </summary>
public sealed record ReloadReport
{
    /// <summary>Generation of the rule set that was active before.</summary>
    public long PreviousGeneration { get; init; }

    /// <summary>Generation of the rule set now active.</summary>
    public long Generation { get; init; }

    /// <summary>Number of enabled rules now active.</summary>
    public int Rules { get; init; }

    /// <summary>Warnings of the new rule set (<c>file:line:column: warning: …</c>), if any.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
