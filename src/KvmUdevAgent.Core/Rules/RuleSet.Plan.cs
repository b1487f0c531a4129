using System.Collections.Immutable;
using System.Runtime.InteropServices;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

internal sealed partial class RuleSet
{
    public Plan BuildPlan(DeviceView device, ReadOnlySpan<RuleMatch> matches)
    {
        if (matches.IsEmpty)
        {
            return Plan.For(device, [], Generation);
        }

        // One action a rule is the common case: an array of that size becomes the plan's own when it is
        // full, with no builder around it (issue 15: the builder was 40 B a plan).
        var actions = new PlannedAction[matches.Length];
        int count = 0;
        bool reverse = false;
        foreach (RuleMatch match in matches)
        {
            CompiledRule rule = _rules[match.RuleIndex];
            RuleDefinition d = rule.Definition;
            reverse |= match.Reverse;
            if (!match.Shadowed && d.Attach is { } attach)
            {
                AttachKind kind = attach.Kind ?? DefaultKind(device);
                Add(ref actions, ref count, match.Reverse ? new PlannedDetach(d.Name, attach.Vm, kind) : PlanAttach(d.Name, attach.Vm, kind, attach.ReadOnly, attach.Removable, device.Identity));
            }

            if (!match.Shadowed && d.Mount is { } mount)
            {
                string path = string.Join('/', Expand(rule.MountSegments, device, sanitize: true));
                Add(ref actions, ref count, match.Reverse
                    ? new PlannedUnmount(d.Name, path)
                    : new PlannedMount(d.Name, path, [.. MountOptions.Resolve(mount.Options, mount.Allow)], device.Identity.FsType));
            }

            if (d.Hook is { } hook)
            {
                ImmutableArray<Template> argv = match.Reverse ? rule.OnRemoveTemplates : rule.RunTemplates;
                if (!argv.IsEmpty)
                {
                    ImmutableArray<string> expanded = ImmutableCollectionsMarshal.AsImmutableArray(Expand(argv, device, sanitize: false));
                    Add(ref actions, ref count, new PlannedHook(d.Name, expanded, hook.Timeout) { Refusal = PlannedHook.Refuse(argv, expanded) });
                }
            }
        }

        // A removal undoes in the opposite order of the add: last done, first undone.
        if (reverse)
        {
            Array.Reverse(actions, 0, count);
        }

        return Plan.For(device, count == 0 ? [] : ImmutableCollectionsMarshal.AsImmutableArray(count == actions.Length ? actions : actions[..count]), Generation);
    }

    private static void Add(ref PlannedAction[] actions, ref int count, PlannedAction action)
    {
        if (count == actions.Length)
        {
            Array.Resize(ref actions, Math.Max(4, count * 2));
        }

        actions[count++] = action;
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

    /// <summary>A USB device goes over as itself; a block device as an emulated USB stick.</summary>
    /// <summary>
    /// An attach of the device <paramref name="identity"/> names, and what its guest is shown: a usb-storage disk is
    /// removable as <paramref name="removable"/> forces, else as the host disk says; a drive carries its serial.
    /// </summary>
    internal static PlannedAttach PlanAttach(string rule, string vm, AttachKind kind, bool readOnly, bool? removable, Devices.DeviceIdentity identity) =>
        new(rule, vm, kind, readOnly,
            kind == AttachKind.UsbStorage ? removable ?? identity.Removable ?? false : null,
            kind is AttachKind.UsbStorage or AttachKind.VirtioBlk && identity.Serial is { Length: > 0 } serial ? serial : null);

    internal static AttachKind DefaultKind(DeviceView device) =>
        device.Subsystem == "block" ? AttachKind.UsbStorage : AttachKind.UsbHost;
}
