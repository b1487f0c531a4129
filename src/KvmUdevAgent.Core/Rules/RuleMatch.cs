namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// One matching rule for one event. <see cref="Reverse"/>: undo the rule (a remove event for a
/// rule without <c>action</c>). <see cref="Shadowed"/>: its attach/mount lost to an earlier rule,
/// only its hook runs.
/// </summary>
internal readonly record struct RuleMatch(int RuleIndex, bool Reverse, bool Shadowed);
