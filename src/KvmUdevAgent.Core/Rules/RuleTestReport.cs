using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>What <c>test</c> prints for one event: each rule's fate, then the plan.</summary>
internal sealed record RuleTestReport(PlanDevice Device, ImmutableArray<RuleTrace> Rules, Plan Plan)
{
    public static RuleTestReport Create(RuleSet rules, Devices.DeviceView device) => new(PlanDevice.From(device), rules.Trace(device), rules.Evaluate(device));
}
