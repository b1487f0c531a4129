using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// What to do for one event (style item 13): the daemon executes it, <c>run --dry-run</c> and
/// <c>test</c> print it, the audit records it. Actions run in order; an empty plan means no rule
/// applied. <see cref="Generation"/> is the rule set it was made from.
/// </summary>
internal sealed record Plan(PlanDevice Device, ImmutableArray<PlannedAction> Actions, long Generation)
{
    public bool IsEmpty => Actions.IsEmpty;

    public bool Equals(Plan? other) => other is not null && Device == other.Device && Actions.SequenceEqual(other.Actions) && Generation == other.Generation;

    public override int GetHashCode() => HashCode.Combine(Device, Actions.Length, Generation);
}
