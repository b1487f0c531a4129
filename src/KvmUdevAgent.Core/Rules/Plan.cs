using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// What to do for one event (style item 13): the daemon executes it, <c>run --dry-run</c> and
/// <c>test</c> print it, the audit records it. Actions run in order; an empty plan means no rule
/// applied. <see cref="Generation"/> is the rule set it was made from.
/// </summary>
/// <remarks>
/// A plan made for a device (<see cref="For"/>) describes it (<see cref="Device"/>) only when asked: the
/// daemon never does, <c>test</c> and the JSON do (issue 15: 304 B and 5 % of the pipeline's thread per
/// event). The view is immutable, so the description is the one it would have been.
/// </remarks>
internal sealed record Plan
{
    private readonly Devices.DeviceView? _view;
    private PlanDevice? _device;

    [JsonConstructor]
    public Plan(PlanDevice device, ImmutableArray<PlannedAction> actions, long generation)
    {
        _device = device;
        Actions = actions;
        Generation = generation;
    }

    private Plan(Devices.DeviceView view, ImmutableArray<PlannedAction> actions, long generation)
    {
        _view = view;
        Actions = actions;
        Generation = generation;
    }

    /// <summary>The event and device the plan was made for.</summary>
    public PlanDevice Device => _device ??= PlanDevice.From(_view!);

    public ImmutableArray<PlannedAction> Actions { get; init; }

    public long Generation { get; init; }

    public bool IsEmpty => Actions.IsEmpty;

    /// <summary>A plan for <paramref name="view"/>, which it describes only when asked.</summary>
    public static Plan For(Devices.DeviceView view, ImmutableArray<PlannedAction> actions, long generation) => new(view, actions, generation);

    /// <summary>The rules of the actions, each once, in order, comma-separated (an <c>event.routed</c> record's rule).</summary>
    public string RuleNames()
    {
        ImmutableArray<PlannedAction> actions = Actions;
        if (actions.Length == 1)
        {
            return actions[0].Rule;
        }

        StringWriter text = DescriptionText.Start();
        bool first = true;
        for (int i = 0; i < actions.Length; i++)
        {
            if (!SaidBefore(actions, i))
            {
                if (!first)
                {
                    text.Write(',');
                }

                text.Write(actions[i].Rule);
                first = false;
            }
        }

        return DescriptionText.Finish(text);
    }

    /// <summary>The actions' descriptions, <c>; </c> between them (an <c>event.routed</c> record's target).</summary>
    public string Describe()
    {
        ImmutableArray<PlannedAction> actions = Actions;
        if (actions.Length == 1)
        {
            return actions[0].Describe();
        }

        StringWriter text = DescriptionText.Start();
        for (int i = 0; i < actions.Length; i++)
        {
            if (i > 0)
            {
                text.Write("; ");
            }

            actions[i].Describe(text);
        }

        return DescriptionText.Finish(text);
    }

    public bool Equals(Plan? other) => other is not null && Device == other.Device && Actions.SequenceEqual(other.Actions) && Generation == other.Generation;

    public override int GetHashCode() => HashCode.Combine(Device, Actions.Length, Generation);

    private static bool SaidBefore(ImmutableArray<PlannedAction> actions, int index)
    {
        for (int i = 0; i < index; i++)
        {
            if (actions[i].Rule == actions[index].Rule)
            {
                return true;
            }
        }

        return false;
    }
}
