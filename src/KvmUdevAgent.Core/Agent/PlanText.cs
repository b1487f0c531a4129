using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// A plan as its log line shows it, built only when the line is rendered. The daemon's stderr log
/// keeps it as a scalar (<c>Destructure.AsScalar</c>), so the text is built on the log's worker
/// thread, not on the event path; any other logger renders it when the line is written, as before.
/// A <see cref="Plan"/> is immutable, so rendering it later, on another thread, shows the same text.
/// </summary>
internal sealed class PlanText(Plan plan)
{
    public override string ToString() => string.Join("; ", plan.Actions.Select(a => $"{a.Describe()} (rule {a.Rule})"));
}
