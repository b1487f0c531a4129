namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// The fixed PARAM-NAMEs of the audit SD element (style item 21). Every record carries every key,
/// empty when it does not apply, so a collector sees the same columns on every line. The set is
/// versioned by <see cref="Version"/>: renaming or removing a key is a new version; adding one is not.
/// </summary>
internal static class AuditKeys
{
    /// <summary>Value of <see cref="V"/>: the version of this key set.</summary>
    public const string Version = "1";

    public const string V = "v";
    public const string Type = "type";
    public const string Seq = "seq";
    public const string Event = "event";
    public const string DevPath = "devpath";
    public const string Subsystem = "subsystem";
    public const string Vendor = "vendor";
    public const string Product = "product";
    public const string Serial = "serial";
    public const string Label = "label";
    public const string Rule = "rule";
    public const string Action = "action";
    public const string Target = "target";
    public const string Outcome = "outcome";
    public const string Error = "error";
    public const string LatencyMs = "latency_ms";

    /// <summary>The fixed keys in the order they are written.</summary>
    public static readonly string[] All =
        [V, Type, Seq, Event, DevPath, Subsystem, Vendor, Product, Serial, Label, Rule, Action, Target, Outcome, Error, LatencyMs];

    /// <summary>Extra key added when the formatter had to shorten values to fit the transport (names of the cut keys).</summary>
    public const string Truncated = "truncated";

    /// <summary>Extra key of a rate-limited record: how many like it were suppressed since the previous one.</summary>
    public const string Suppressed = "suppressed";

    /// <summary>Extra key of an <see cref="AuditTypes.AuditDropped"/> record.</summary>
    public const string Dropped = "dropped";
}
