namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// How one rule fared against one event, for <c>test</c>: <see cref="Outcome"/> is <c>matched</c>,
/// <c>reversed</c> (remove event undoing the rule), <c>no match</c>, <c>not applicable</c> (an event
/// the rule never handles), <c>disabled</c> or <c>not reached</c> (after a <c>final</c> rule). For a miss,
/// <see cref="FailedKey"/> is the first key that failed, with the pattern and the device's value.
/// </summary>
internal sealed record RuleTrace(
    string Rule,
    string File,
    string Outcome,
    string? FailedKey = null,
    string? Expected = null,
    string? Actual = null,
    string? Note = null);
