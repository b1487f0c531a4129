using System.Collections.Immutable;
using CsCheck;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Agent;

/// <summary>
/// A plan's text (<see cref="PlanText"/>, each action's <see cref="PlannedAction.Describe()"/>), written
/// piece by piece since issue 15's fifth round, is the text the string-building code made before it, for
/// any device strings: quotes, control characters, line breaks, lone surrogates (what the old code
/// threw on, the new throws on too). The log and the bench parse it; the quoting is its safety.
/// </summary>
public sealed class PlanTextTests
{
    // Hostile device strings, anything UTF-16 can hold (lone surrogates, NUL, the empty string), and
    // strings of the few characters the quoting turns on.
    private static readonly Gen<string> s_text = Gen.Frequency(
        (3, HostileStrings.Short),
        (2, Gen.Char.Array[0, 12].Select(c => new string(c))),
        (1, Gen.Char['\ud800', '\udfff'].Array[1, 3].Select(c => new string(c))),
        (2, Gen.OneOf(Gen.Const("'"), Gen.Const("a"), Gen.Const("/"), Gen.Const(" "), Gen.Const("'\\''"), Gen.Const("")).Array[0, 6].Select(p => string.Concat(p))));

    private static readonly Gen<TimeSpan> s_timeout = Gen.OneOf(
        Gen.Int[0, 10_000_000].Select(ms => TimeSpan.FromMilliseconds(ms)),
        Gen.Int[0, 100].Select(m => TimeSpan.FromMinutes(m)),
        Gen.Int[0, 1000].Select(s => TimeSpan.FromSeconds(s)));

    internal static readonly Gen<PlannedAction> Actions = Gen.OneOf<PlannedAction>(
        Gen.Select(s_text, s_text.Array[0, 4], s_timeout, Gen.Bool, s_text,
            (rule, argv, timeout, refused, why) => new PlannedHook(rule, [.. argv], timeout) { Refusal = refused ? why : null }),
        Gen.Select(s_text, s_text, Gen.Enum<AttachKind>(), Gen.Bool, Gen.Int[0, 2], Gen.Bool, s_text,
            (rule, vm, kind, readOnly, removable, serial, text) => new PlannedAttach(rule, vm, kind, readOnly, removable == 2 ? null : removable == 1, serial ? text : null)),
        Gen.Select(s_text, s_text, Gen.Enum<AttachKind>(), (rule, vm, kind) => new PlannedDetach(rule, vm, kind)),
        Gen.Select(s_text, s_text, s_text.Array[0, 3], Gen.Bool, s_text,
            (rule, path, options, typed, type) => new PlannedMount(rule, path, [.. options], typed ? type : null)),
        Gen.Select(s_text, s_text, (rule, path) => new PlannedUnmount(rule, path)));

    [Fact]
    public void ToString_ArbitraryDeviceStrings_SameTextAsTheStringBuildingCode()
    {
        Actions.Array[0, 4].Sample(actions =>
        {
            var plan = new Plan(null!, [.. actions], 1);

            Assert.Equal(Outcome(() => Before.PlanText(plan)), Outcome(() => new PlanText(plan).ToString()));
            foreach (PlannedAction action in actions)
            {
                Assert.Equal(Outcome(() => Before.Describe(action)), Outcome(action.Describe));
            }
        }, iter: 3000);
    }

    [Fact]
    public void ToString_HookWithQuotesAndEmptyArgument_QuotedAsAShellWouldReadIt()
    {
        var plan = new Plan(null!, [new PlannedHook("h", ["/usr/bin/notify", "it's", "", "a b", "S0-1.x:y=z,w"], TimeSpan.FromMilliseconds(1500))], 1);

        Assert.Equal("run /usr/bin/notify 'it'\\''s' '' 'a b' S0-1.x:y=z,w (timeout 1500ms) (rule h)", new PlanText(plan).ToString());
    }

    [Fact]
    public void ToString_AttachSerialWithLoneSurrogate_ThrowsAsBefore()
    {
        var plan = new Plan(null!, [new PlannedAttach("r", "vm", AttachKind.UsbStorage, false, Serial: "S\ud800")], 1);

        Assert.Equal(Outcome(() => Before.PlanText(plan)), Outcome(() => new PlanText(plan).ToString()));
        Assert.StartsWith("threw ", Outcome(() => new PlanText(plan).ToString()), StringComparison.Ordinal);
    }

    private static string Outcome(Func<string> render)
    {
        try
        {
            return "text " + render();
        }
        catch (Exception e)
        {
            return "threw " + e.GetType().Name;
        }
    }

    /// <summary>The plan's text as the code before issue 15's fifth round built it, verbatim.</summary>
    private static class Before
    {
        public static string PlanText(Plan plan) => string.Join("; ", plan.Actions.Select(a => $"{Describe(a)} (rule {a.Rule})"));

        public static string Describe(PlannedAction action) => action switch
        {
            PlannedAttach a => $"attach to {a.Vm} as {a.Kind.ToWord()}" + (a.ReadOnly ? ", read-only" : string.Empty)
                + (a.Removable is { } removable ? (removable ? ", removable" : ", fixed disk") : string.Empty)
                + (a.Serial is { } serial ? ", serial \"" + System.Text.Json.JsonEncodedText.Encode(serial) + "\"" : string.Empty),
            PlannedDetach d => $"detach from {d.Vm} ({d.Kind.ToWord()})",
            PlannedMount m => $"mount at {m.RelativePath} ({string.Join(',', m.Options)})" + (m.FsType is null ? string.Empty : $" as {m.FsType}"),
            PlannedUnmount u => $"unmount {u.RelativePath}",
            PlannedHook h => "run " + string.Join(' ', h.Argv.Select(Quote)) + $" (timeout {Durations.Format(h.Timeout)})" + (h.Refusal is null ? "" : " refused: " + h.Refusal),
            _ => throw new ArgumentException("unknown action", nameof(action)),
        };

        private static string Quote(string arg) =>
            arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' or '.' or ':' or '=' or ',')
                ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
