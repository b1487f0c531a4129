using System.Globalization;
using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Rules;

/// <summary>
/// Issue 7, hostile device strings at component level: generated serials, labels and model names
/// go through the compiled rules into a plan. Each hook argument is exactly its template with the
/// value pasted in (no splitting, quoting or interpretation), and the mount directory that the
/// executor builds from the planned path is one safe name directly inside the mount base.
/// </summary>
public sealed class HostileTemplateTests
{
    private const string MountBase = "/srv/kua-media";

    private static readonly RuleSet s_rules = Load("""
        rules:
          - name: hook
            match: { subsystem: block }
            hook: { run: ["/usr/local/bin/notify", "{serial}", "s={serial};l={fs_label}", "{props.ID_MODEL}", "{fs_label}", "{vendor}:{product}", "--", "{kernel}"] }
          - name: mount
            match: { subsystem: block }
            mount: { path: "usb/{fs_label}", options: [ro] }
        """);

    private static RuleSet Load(string yaml)
    {
        var result = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([("hostile.yaml", yaml)], 1);
        Assert.True(result.Succeeded, string.Join('\n', result.Diagnostics));
        return result.RuleSet!;
    }

    private static DeviceView View(string serial, string label, string model) =>
        new(
            Uevent.Create(UeventSource.Udev,
            [
                new("ACTION", "add"), new("DEVPATH", "/devices/virtual/block/loop9"), new("SUBSYSTEM", "block"), new("DEVTYPE", "disk"),
                new("ID_MODEL", model), new("DEVNAME", "/dev/loop9"),
            ]),
            new DeviceIdentity { Serial = serial, FsLabel = label, Model = model, Vendor = new UsbId(0x058f), Product = new UsbId(0x6387), DevNode = "/dev/loop9", Kernel = "loop9" },
            null);

    [Fact]
    public void Evaluate_HostileSerialLabelModel_EachHookArgumentIsItsTemplateVerbatim()
    {
        Gen.Select(HostileStrings.Any, HostileStrings.Any, HostileStrings.Any).Sample((serial, label, model) =>
        {
            Plan plan = s_rules.Evaluate(View(serial, label, model));
            PlannedHook hook = Assert.Single(plan.Actions.OfType<PlannedHook>());
            string[] expected = ["/usr/local/bin/notify", serial, "s=" + serial + ";l=" + label, model, label, "058f:6387", "--", "loop9"];
            Assert.Equal(expected.Length, hook.Argv.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(expected[i] == hook.Argv[i], $"argv[{i}]: expected {Escape(expected[i])} ({expected[i].Length}), got {Escape(hook.Argv[i])} ({hook.Argv[i].Length})");
            }
        }, iter: 4_000);
    }

    [Fact]
    public void Evaluate_HostileLabel_MountDirectoryIsOneSafeNameInsideTheBase()
    {
        Gen.Select(HostileStrings.Any, HostileStrings.Short).Sample((label, kernel) =>
        {
            Plan plan = s_rules.Evaluate(View("S", label, "M"));
            PlannedMount mount = Assert.Single(plan.Actions.OfType<PlannedMount>());
            string[] parts = mount.RelativePath.Split('/');
            Assert.Equal("usb", parts[0]);
            Assert.Equal(2, parts.Length);
            Assert.DoesNotContain(parts[1], (string[])[".", "..", ""]);
            Assert.DoesNotContain(parts[1], c => char.IsControl(c) || char.IsSurrogate(c) || c is '\\' or '"' or '\'' or '`');

            // What MountAction makes of it (and of a hostile kernel name as the fallback).
            AssertSafeName(MountPointName.Sanitize(mount.RelativePath, kernel));
        }, iter: 3_000);
    }

    [Fact]
    public void MountPointName_HostileNameAndFallback_OneSafeNameInsideTheBase()
    {
        Gen.Select(HostileStrings.Any, HostileStrings.Short).Sample((name, kernel) =>
        {
            AssertSafeName(MountPointName.Sanitize(name, kernel));
            AssertSafeName(MountPointName.Sanitize(null, name));
            AssertSafeName(MountPointName.WithSuffix(MountPointName.Sanitize(name, kernel), 7));
        }, iter: 3_000);
    }

    internal static void AssertSafeName(string name)
    {
        Assert.NotEmpty(name);
        Assert.True(Encoding.UTF8.GetByteCount(name) <= MountPointName.MaxBytes + 4, $"{Encoding.UTF8.GetByteCount(name)} bytes: {Escape(name)}");
        Assert.False(name[0] is '.' or '-' || char.IsWhiteSpace(name[0]), "leading dot, dash or space: " + Escape(name));
        foreach (Rune r in name.EnumerateRunes())
        {
            UnicodeCategory category = Rune.GetUnicodeCategory(r);
            Assert.False(
                r.Value is '/' or '\\' or '"' or '\'' or '`' or 0xfffd || category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate,
                $"U+{r.Value:X4} in {Escape(name)}");
        }

        string full = Path.GetFullPath(Path.Join(MountBase, name));
        Assert.Equal(MountBase, Path.GetDirectoryName(full));
        Assert.Equal(name, Path.GetFileName(full));
    }

    private static string Escape(string s) => string.Concat(s.Take(80).Select(c => c < 0x20 || c > 0x7e ? $"\\u{(int)c:x4}" : c.ToString()));
}
