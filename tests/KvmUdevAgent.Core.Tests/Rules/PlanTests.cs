using CsCheck;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Agent;

namespace KvmUdevAgent.Core.Tests.Rules;

/// <summary>
/// An <c>event.routed</c> record's rule and target (<see cref="Plan.RuleNames"/>, <see cref="Plan.Describe"/>),
/// made without Linq since issue 15's sixth round, are what the Linq joins made: for any actions, rules
/// repeated or not, device strings that throw included.
/// </summary>
public sealed class PlanTests
{
    private static readonly Gen<string> s_rule = Gen.OneOf(Gen.Const("a"), Gen.Const("b"), Gen.Const("A"), Gen.Const(""), Gen.Const("a,b"), Gen.String);

    [Fact]
    public void RuleNamesAndDescribe_ArbitraryPlans_SameAsTheLinqJoins()
    {
        Gen.Select(PlanTextTests.Actions, s_rule).Select((action, rule) => action with { Rule = rule }).Array[0, 5].Sample(actions =>
        {
            var plan = new Plan(null!, [.. actions], 1);

            Assert.Equal(string.Join(',', plan.Actions.Select(a => a.Rule).Distinct()), plan.RuleNames());
            Assert.Equal(Outcome(() => string.Join("; ", plan.Actions.Select(a => a.Describe()))), Outcome(plan.Describe));
        }, iter: 3000);
    }

    [Fact]
    public void RuleNames_RepeatedRules_EachOnceInOrder()
    {
        var plan = new Plan(null!, [new PlannedUnmount("b", "x"), new PlannedDetach("a", "vm", AttachKind.UsbHost), new PlannedUnmount("b", "y")], 1);

        Assert.Equal("b,a", plan.RuleNames());
        Assert.Equal("unmount x; detach from vm (usb-host); unmount y", plan.Describe());
    }

    private static string Outcome(Func<string> text)
    {
        try
        {
            return "text " + text();
        }
        catch (Exception e)
        {
            return "threw " + e.GetType().Name;
        }
    }
}
