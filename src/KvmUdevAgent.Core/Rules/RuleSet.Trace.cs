using System.Collections.Immutable;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Rules;

internal sealed partial class RuleSet
{
    /// <summary>Explains, rule by rule, what happened for <paramref name="device"/> (for <c>test</c>; allocates).</summary>
    public ImmutableArray<RuleTrace> Trace(DeviceView device)
    {
        Span<RuleMatch> matches = new RuleMatch[Math.Max(1, _rules.Length)];
        int n = Match(device, matches);
        var byIndex = new Dictionary<int, RuleMatch>();
        foreach (RuleMatch m in matches[..n])
        {
            byIndex[m.RuleIndex] = m;
        }

        int lastReached = n > 0 && _rules[matches[n - 1].RuleIndex].Definition.Final ? matches[n - 1].RuleIndex : int.MaxValue;
        var traces = ImmutableArray.CreateBuilder<RuleTrace>();
        int compiled = 0;
        foreach (RuleDefinition definition in Definitions)
        {
            if (!definition.Enabled)
            {
                traces.Add(new RuleTrace(definition.Name, definition.File, "disabled"));
                continue;
            }

            int index = compiled++;
            CompiledRule rule = _rules[index];
            if (index > lastReached)
            {
                traces.Add(new RuleTrace(rule.Name, definition.File, "not reached", Note: $"rule '{_rules[lastReached].Name}' is final"));
            }
            else if (byIndex.TryGetValue(index, out RuleMatch match))
            {
                traces.Add(new RuleTrace(rule.Name, definition.File, match.Reverse ? "reversed" : "matched",
                    Note: match.Shadowed ? "attach/mount shadowed by an earlier rule; only its hook runs" : null));
            }
            else if (rule.ImplicitAction && device.Event.Action is not (UeventAction.Add or UeventAction.Remove))
            {
                traces.Add(new RuleTrace(rule.Name, definition.File, "not applicable",
                    Note: $"no 'action:' key, so the rule handles add and remove only, not {device.Event.ActionText}"));
            }
            else
            {
                int failing = FirstFailing(rule, device);
                KeyMatcher? m = failing >= 0 ? rule.Matchers[failing] : null;
                traces.Add(new RuleTrace(rule.Name, definition.File, "no match", m?.Key, m?.Expected, m?.Actual(device)));
            }
        }

        return traces.ToImmutable();
    }
}
