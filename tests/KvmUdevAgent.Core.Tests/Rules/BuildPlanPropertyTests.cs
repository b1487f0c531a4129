using System.Collections.Immutable;
using System.Runtime.InteropServices;
using CsCheck;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Rules;

/// <summary>
/// Issue 15: <see cref="RuleSet.BuildPlan"/> fills an array sized to the matches instead of an
/// <see cref="ImmutableArray{T}.Builder"/>. For any matches (any rules, reversed, shadowed, repeated,
/// in any order) of any device view, the plan must be what the code before made; that code is kept
/// below as it was (main b298235).
/// </summary>
public sealed class BuildPlanPropertyTests : IDisposable
{
    private const string Yaml = """
        rules:
          - name: attach
            match: { subsystem: usb }
            attach: { vm: winxp }
          - name: attach-hook
            match: { subsystem: usb }
            attach: { vm: win10, read_only: true }
            hook:
              run: [/bin/echo, "{serial}", "-x"]
              on_remove: [/bin/echo, "{kernel}", "{vendor}:{product}"]
          - name: storage
            match: { subsystem: block }
            attach: { vm: winxp, as: usb-storage, removable: true }
          - name: virtio
            match: { subsystem: block }
            attach: { vm: win10, as: virtio-blk }
          - name: mount
            match: { subsystem: block }
            mount: { path: "usb/{vendor}-{product}/{fs_label}", options: [ro, "uid=1000"], allow: [exec] }
          - name: mount-hook
            match: { subsystem: block }
            mount: { path: "{fs_label}" }
            hook: { run: [/bin/true, "{fs_label}", "--", "{serial}"], timeout: 2s }
          - name: hook-only
            match: { kernel: "*" }
            hook: { run: ["/usr/bin/logger", "{devnode}"] }
          - name: remove-hook-only
            match: { kernel: "*" }
            hook: { run: [/bin/true], on_remove: ["/bin/false", "{serial}"] }
          - name: mount-all
            match: { kernel: "*" }
            mount: { path: "all/{kernel}" }
            hook: { run: [/bin/true, "{kernel}"] }
        """;

    private readonly SysfsFixture _sysfs = new();

    public void Dispose() => _sysfs.Dispose();

    [Fact]
    public void BuildPlan_AnyMatches_PlanAsBefore()
    {
        RuleLoadResult loaded = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([("t.yaml", Yaml)], 5);
        Assert.True(loaded.Succeeded, string.Join('\n', loaded.Diagnostics));
        RuleSet rules = loaded.RuleSet;
        var drive = _sysfs.AddSeedFlashDrive();
        var factory = new DeviceViewFactory(_sysfs.Root);
        DeviceView[] views =
        [
            .. new[] { "add", "remove", "change" }.SelectMany(action => drive.All.Select(node => factory.Create(_sysfs.UdevEvent(node, action)))),
            .. drive.All.Select(node => factory.Create(_sysfs.KernelEvent(node, "add"))),
        ];
        Gen<RuleMatch> match = Gen.Select(Gen.Int[0, rules.Rules.Count - 1], Gen.Bool, Gen.Bool).Select((i, reverse, shadowed) => new RuleMatch(i, reverse, shadowed));

        Gen.Select(Gen.Int[0, views.Length - 1], match.Array[0, 9]).Sample((v, matches) =>
        {
            DeviceView view = views[v];
            Plan expected = BuildPlanBefore(rules, view, matches);
            Plan actual = rules.BuildPlan(view, matches);

            Assert.Equal(expected.Generation, actual.Generation);
            Assert.Equal(expected.IsEmpty, actual.IsEmpty);
            Assert.False(actual.Actions.IsDefault);
            Assert.Equal(Describe(expected), Describe(actual));
            Assert.Equal(
                System.Text.Json.JsonSerializer.Serialize(expected, RulesJsonContext.Default.Plan),
                System.Text.Json.JsonSerializer.Serialize(actual, RulesJsonContext.Default.Plan));
        });
    }

    private static string[] Describe(Plan plan) =>
        [.. plan.Actions.Select(a => a.GetType().Name + " " + a.Rule + ": " + a.Describe() + " | " + a switch
        {
            PlannedHook h => string.Join('\u0001', h.Argv) + " " + h.Timeout + " " + h.Refusal,
            PlannedMount m => m.RelativePath + " " + string.Join(',', m.Options) + " " + m.FsType,
            PlannedAttach t => $"{t.Vm} {t.Kind} {t.ReadOnly} {t.Removable} {t.Serial}",
            _ => "",
        })];

    // RuleSet.BuildPlan and Expand before issue 15's change, reading the rules through RuleSet.Rules.
    private static Plan BuildPlanBefore(RuleSet rules, DeviceView device, ReadOnlySpan<RuleMatch> matches)
    {
        if (matches.IsEmpty)
        {
            return Plan.For(device, [], rules.Generation);
        }

        // Sized for the common case, one action a rule, so that the array is the builder's own (issue 15).
        var actions = ImmutableArray.CreateBuilder<PlannedAction>(matches.Length);
        bool reverse = false;
        foreach (RuleMatch match in matches)
        {
            CompiledRule rule = rules.Rules[match.RuleIndex];
            RuleDefinition d = rule.Definition;
            reverse |= match.Reverse;
            if (!match.Shadowed && d.Attach is { } attach)
            {
                AttachKind kind = attach.Kind ?? RuleSet.DefaultKind(device);
                actions.Add(match.Reverse ? new PlannedDetach(d.Name, attach.Vm, kind) : RuleSet.PlanAttach(d.Name, attach.Vm, kind, attach.ReadOnly, attach.Removable, device.Identity));
            }

            if (!match.Shadowed && d.Mount is { } mount)
            {
                string path = string.Join('/', Expand(rule.MountSegments, device, sanitize: true));
                actions.Add(match.Reverse
                    ? new PlannedUnmount(d.Name, path)
                    : new PlannedMount(d.Name, path, [.. MountOptions.Resolve(mount.Options, mount.Allow)], device.Identity.FsType));
            }

            if (d.Hook is { } hook)
            {
                ImmutableArray<Template> argv = match.Reverse ? rule.OnRemoveTemplates : rule.RunTemplates;
                if (!argv.IsEmpty)
                {
                    ImmutableArray<string> expanded = ImmutableCollectionsMarshal.AsImmutableArray(Expand(argv, device, sanitize: false));
                    actions.Add(new PlannedHook(d.Name, expanded, hook.Timeout) { Refusal = PlannedHook.Refuse(argv, expanded) });
                }
            }
        }

        // A removal undoes in the opposite order of the add: last done, first undone.
        if (reverse)
        {
            actions.Reverse();
        }

        return Plan.For(device, actions.Count == actions.Capacity ? actions.MoveToImmutable() : actions.ToImmutable(), rules.Generation);
    }

    private static string[] Expand(ImmutableArray<Template> templates, DeviceView device, bool sanitize)
    {
        var expanded = new string[templates.Length];
        for (int i = 0; i < expanded.Length; i++)
        {
            string text = templates[i].Expand(device);
            expanded[i] = sanitize ? PathSegment.Sanitize(text) : text;
        }

        return expanded;
    }
}
