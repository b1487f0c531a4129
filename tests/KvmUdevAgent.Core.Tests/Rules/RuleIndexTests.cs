using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed class RuleIndexTests
{
    private static Gen<T> Pick<T>(params T[] items) => Gen.Int[0, items.Length - 1].Select(i => items[i]);

    private static readonly Gen<string?> s_subsystem = Pick<string?>(null, "usb", "block", "usb|block", "!usb", "*", "b*");
    private static readonly Gen<string?> s_serial = Pick<string?>(null, "S1", "S2", "S1|S2", "!S1", "S*", "");
    private static readonly Gen<string?> s_vendor = Pick<string?>(null, "058f", "abcd", "058f|abcd", "!058f", "05*");
    private static readonly Gen<string?> s_action = Pick<string?>(null, null, "add", "remove", "add|change");
    private static readonly Gen<string?> s_devtype = Pick<string?>(null, null, "usb_device", "disk", "disk|partition", "!disk", "d*", "*k");
    private static readonly Gen<string?> s_product = Pick<string?>(null, null, "6387", "0001", "6387|0001", "!6387", "63*");
    private static readonly Gen<string?> s_kernel = Pick<string?>(null, null, "sdb", "sd?", "sd[ab]", "s*|2-*", "\\\\s*", "[s]*", "?d*", "2-1.4");
    private static readonly Gen<string?> s_label = Pick<string?>(null, null, null, "L1", "L*", "!L1", "L1|L2");
    private static readonly Gen<string> s_do = Pick("attach: { vm: winxp }", "mount: { path: x }", "hook: { run: [/bin/true] }", "hook: { run: [/bin/echo, \"{fs_label}\"] }");

    private static readonly Gen<string> s_rule =
        from subsystem in s_subsystem
        from serial in s_serial
        from vendor in s_vendor
        from action in s_action
        from devtype in s_devtype
        from product in s_product
        from kernel in s_kernel
        from label in s_label
        from final in Gen.Int[0, 5]
        from doing in s_do
        select Rule([("subsystem", subsystem), ("serial", serial), ("vendor", vendor), ("action", action), ("devtype", devtype), ("product", product), ("kernel", kernel), ("fs_label", label)], final == 0, doing);

    private static readonly Gen<(string Subsystem, string? Serial, ushort? Vendor, string Action, string? DevType, ushort? Product, string Kernel, string? Label)> s_event =
        from subsystem in Pick("usb", "block", "net")
        from serial in Pick<string?>("S1", "S2", "S3", null, "", "s1")
        from vendor in Pick<ushort?>(0x058f, 0xabcd, 0x1234, null)
        from action in Pick("add", "remove", "bind", "change", "unbind", "frob")
        from devtype in Pick<string?>("usb_device", "disk", "partition", null, "")
        from product in Pick<ushort?>(0x6387, 0x0001, 0x6300, null)
        from kernel in Pick("sdb", "sda", "sdc", "2-1.4", "s", "loop3")
        from label in Pick<string?>(null, "L1", "L2", "M")
        select (subsystem, serial, vendor, action, devtype, product, kernel, label);

    private static string Rule((string Key, string? Pattern)[] keys, bool final, string doing)
    {
        var match = new List<string>();
        foreach ((string key, string? pattern) in keys)
        {
            if (pattern is not null)
            {
                match.Add($"{key}: \"{pattern}\"");
            }
        }

        return $"    match: {{ {string.Join(", ", match)} }}\n    final: {(final ? "true" : "false")}\n    {doing}\n";
    }

    [Fact]
    public void Match_WithIndex_EqualsLinearScan()
    {
        ForRandomRuleSets((set, view) =>
        {
            var indexed = new RuleMatch[set.Rules.Count];
            var linear = new RuleMatch[set.Rules.Count];
            int n = set.Match(view, indexed);
            int m = set.MatchLinear(view, linear);
            return n == m && indexed.AsSpan(0, n).SequenceEqual(linear.AsSpan(0, m));
        });
    }

    /// <summary>Issue 15: the index's answer is the definition's (a rule using the filesystem whose other conditions all hold).</summary>
    [Fact]
    public void NeedsFilesystem_WithIndex_EqualsDefinition()
    {
        ForRandomRuleSets((set, view) => set.NeedsFilesystem(view) == set.NeedsFilesystemLinear(view));
    }

    /// <summary>
    /// Issue 15: skipping the probe never changes the plan. Whenever <see cref="RuleSet.NeedsFilesystem"/>
    /// says no, the device without a label gets the same plan as with any label; whenever
    /// <see cref="RuleSet.MayMatch"/> says no, no rule matches whatever the rest of the identity.
    /// </summary>
    [Fact]
    public void LazyReads_WhenSkipped_PlanUnchanged()
    {
        ForRandomRuleSets((set, view) =>
        {
            var unlabelled = new DeviceView(view.Event, view.Identity with { FsLabel = null }, null);
            string Plan(DeviceView v) => string.Join(";", set.Evaluate(v).Actions.Select(a => a.Rule + ":" + a.Describe()));
            bool probeSafe = set.NeedsFilesystem(unlabelled) || Plan(unlabelled) == Plan(view);
            bool skipSafe = set.MayMatch(view.Event) || set.Match(view, new RuleMatch[Math.Max(1, set.Rules.Count)]) == 0;
            return probeSafe && skipSafe;
        });
    }

    private static void ForRandomRuleSets(Func<RuleSet, DeviceView, bool> holds)
    {
        Gen.Select(s_rule.Array[1, 40], s_event.Array[1, 8]).Sample((rules, events) =>
        {
            var yaml = new StringBuilder("rules:\n");
            for (int i = 0; i < rules.Length; i++)
            {
                yaml.Append("  - name: r").Append(i).Append('\n').Append(rules[i]);
            }

            RuleSet set = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([("p.yaml", yaml.ToString())], 1).RuleSet
                ?? throw new InvalidOperationException(yaml.ToString());
            foreach (var e in events)
            {
                var properties = new List<KeyValuePair<string, string>> { new("ACTION", e.Action), new("DEVPATH", "/devices/x/" + e.Kernel), new("SUBSYSTEM", e.Subsystem) };
                if (e.DevType is not null)
                {
                    properties.Add(new("DEVTYPE", e.DevType));
                }

                var view = new DeviceView(Uevent.Create(UeventSource.Udev, properties),
                    new DeviceIdentity { Serial = e.Serial, Vendor = e.Vendor is { } v ? new UsbId(v) : null, Product = e.Product is { } p ? new UsbId(p) : null, FsLabel = e.Label }, null);
                if (!holds(set, view))
                {
                    return false;
                }
            }

            return true;
        }, iter: 3000);
    }
}
