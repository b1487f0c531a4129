using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed class RuleSetTests : IDisposable
{
    private readonly SysfsFixture _sysfs = new();

    public void Dispose() => _sysfs.Dispose();

    private static RuleSet Load(string yaml)
    {
        var result = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([("t.yaml", yaml)], 7);
        Assert.True(result.Succeeded, string.Join('\n', result.Diagnostics));
        return result.RuleSet;
    }

    private DeviceView View(SysfsFixture.Node node, string action = "add") => new DeviceViewFactory(_sysfs.Root).Create(_sysfs.UdevEvent(node, action));

    private static RuleSet Examples()
    {
        var files = Directory.EnumerateFiles(RuleCorpus.Directory("good"), "*.yaml").Where(f => !f.Contains("every-key", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Select(f => ("t.yaml", File.ReadAllText(f)));
        return new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts(files, 1).RuleSet!;
    }

    private static void AssertPlan(IEnumerable<PlannedAction> expected, Plan plan) =>
        Assert.Equal(expected.Select(a => a.Rule + ": " + a.Describe()), plan.Actions.Select(a => a.Rule + ": " + a.Describe()));

    [Fact]
    public void Evaluate_SeedDriveUsbAdd_AttachesToWinxpAndRunsHook()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadDirectory(RuleCorpus.Directory("good"), 3).RuleSet!;

        Plan plan = rules.Evaluate(View(drive.UsbDevice));

        AssertPlan(
            [new PlannedAttach("flash-to-winxp", "winxp", AttachKind.UsbHost, false),
             new PlannedHook("tell-me", ["/usr/local/bin/notify-plug", "--", "058f:6387", "576B63C4"], TimeSpan.FromSeconds(10))],
            plan);
        Assert.Equal(3, plan.Generation);
    }

    [Fact]
    public void Evaluate_SeedDriveRemove_DetachesAndRunsOnRemoveHookFirst()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadDirectory(RuleCorpus.Directory("good"), 1).RuleSet!;

        Plan plan = rules.Evaluate(View(drive.UsbDevice, "remove"));

        AssertPlan(
            [new PlannedHook("tell-me", ["/usr/local/bin/notify-plug", "--gone", "--", "058f:6387", "576B63C4"], TimeSpan.FromSeconds(10)),
             new PlannedDetach("flash-to-winxp", "winxp", AttachKind.UsbHost)],
            plan);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("remove")]
    public void Evaluate_SeedDrive_PlanDescribesTheDeviceWhenAsked(string action)
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadDirectory(RuleCorpus.Directory("good"), 3).RuleSet!;
        DeviceView view = View(drive.UsbDevice, action);

        Plan plan = rules.Evaluate(view);
        Plan copy = plan with { Actions = [.. plan.Actions.Skip(1)] };

        Assert.Equal(PlanDevice.From(view), plan.Device);
        Assert.Equal(PlanDevice.From(view), copy.Device);
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(new Plan(PlanDevice.From(view), plan.Actions, plan.Generation), RulesJsonContext.Default.Plan),
            System.Text.Json.JsonSerializer.Serialize(plan, RulesJsonContext.Default.Plan));
    }

    [Fact]
    public void Evaluate_BindEvent_RuleWithoutActionDoesNothing()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = Load("rules:\n  - name: a\n    match: { subsystem: usb }\n    attach: { vm: winxp }\n");

        Assert.True(rules.Evaluate(View(drive.UsbDevice, "bind")).IsEmpty);
    }

    [Fact]
    public void Interfaces_PlainMassStorage_Matches()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = Load("rules:\n  - name: a\n    match: { devtype: usb_device, interfaces: [\"08:*:*\"] }\n    attach: { vm: winxp }\n");

        Assert.False(rules.Evaluate(View(drive.UsbDevice)).IsEmpty);
    }

    [Fact]
    public void Interfaces_FlashPlusKeyboardComposite_Refused()
    {
        var drive = _sysfs.AddCompositeFlashKeyboard();
        RuleSet rules = Load("rules:\n  - name: a\n    match: { devtype: usb_device, interfaces: [\"08:*:*\"] }\n    attach: { vm: winxp }\n");
        DeviceView view = View(drive.UsbDevice);

        Assert.True(rules.Evaluate(view).IsEmpty);
        RuleTrace trace = Assert.Single(rules.Trace(view));
        Assert.Equal("no match", trace.Outcome);
        Assert.Equal("interfaces", trace.FailedKey);
        Assert.Contains("03:01:01", trace.Actual, StringComparison.Ordinal);
    }

    [Fact]
    public void Attrs_AllOnOneParent_Matches()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = Load("rules:\n  - name: a\n    match: { subsystem: block, attrs: { idVendor: \"058f\", serial: \"576B63C4\" } }\n    mount: { path: x }\n");

        Assert.False(rules.Evaluate(View(drive.Partition!)).IsEmpty);
    }

    [Fact]
    public void Attrs_SplitAcrossTwoParents_DoesNotMatch()
    {
        // 'removable' lives on the disk, 'idVendor' on the USB device: udev's ATTRS needs one device with both.
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = Load("rules:\n  - name: a\n    match: { subsystem: block, attrs: { removable: \"1\", idVendor: \"058f\" } }\n    mount: { path: x }\n");
        RuleSet each = Load("rules:\n  - name: a\n    match: { subsystem: block, attrs: { removable: \"1\" } }\n    mount: { path: x }\n  - name: b\n    match: { subsystem: block, attrs: { idVendor: \"058f\" } }\n    hook: { run: [/bin/true] }\n");

        Assert.True(rules.Evaluate(View(drive.Partition!)).IsEmpty);
        Assert.Equal(2, each.Evaluate(View(drive.Partition!)).Actions.Length);
    }

    [Fact]
    public void Evaluate_FirstPlacingRuleDecides_LaterAttachShadowedButHookRuns()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = Load("rules:\n  - name: first\n    match: { serial: \"576B63C4\" }\n    attach: { vm: winxp }\n"
            + "  - name: second\n    match: { vendor: \"058f\" }\n    attach: { vm: win10 }\n    hook: { run: [/bin/echo, \"{kernel}\"] }\n");

        Plan plan = rules.Evaluate(View(drive.UsbDevice));

        AssertPlan([new PlannedAttach("first", "winxp", AttachKind.UsbHost, false), new PlannedHook("second", ["/bin/echo", drive.UsbKernel], HookSpec.DefaultTimeout)], plan);
    }

    [Fact]
    public void Evaluate_FinalRule_StopsEvaluation()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = Load("rules:\n  - name: first\n    final: true\n    match: { serial: \"576B63C4\" }\n    hook: { run: [/bin/true] }\n"
            + "  - name: second\n    match: { vendor: \"058f\" }\n    hook: { run: [/bin/false] }\n");
        DeviceView view = View(drive.UsbDevice);

        Assert.Equal(["first"], rules.Evaluate(view).Actions.Select(a => a.Rule));
        Assert.Equal("not reached", rules.Trace(view)[1].Outcome);
    }

    [Fact]
    public void Evaluate_MountOfHostileLabel_SanitisesThePathSegment()
    {
        var drive = _sysfs.UsbDevice(2, "1.6", "abcd", "0001").Strings("x", "y", "S1").Interface(8, 6, 80, "usb-storage")
            .ScsiDisk("sde", 1 << 20).Partition("vfat", "../../etc/'x\"\\\u0001", "AAAA-BBBB").Add();
        RuleSet rules = Load("rules:\n  - name: m\n    match: { subsystem: block, devtype: partition }\n    mount: { path: \"usb/{fs_label}\", options: [ro] }\n");

        var mount = Assert.IsType<PlannedMount>(Assert.Single(rules.Evaluate(View(drive.Partition!)).Actions));

        Assert.Equal("usb/.._.._etc__x___", mount.RelativePath);
        Assert.Equal(["ro", "nosuid", "nodev", "noexec"], mount.Options.ToArray());
        Assert.Equal("vfat", mount.FsType);
    }

    [Fact]
    public void Evaluate_HookWithHostileSerial_PassesItAsOneLiteralArgument()
    {
        const string serial = "a b;$(reboot)`id`\"'";
        var drive = _sysfs.UsbDevice(2, "1.7", "abcd", "0002").Strings("x", "y", serial).Interface(8, 6, 80, "usb-storage").Add();
        RuleSet rules = Load("rules:\n  - name: h\n    match: { devtype: usb_device }\n    hook: { run: [/bin/echo, \"s={serial}\", \"{vendor}\"] }\n");

        var hook = Assert.IsType<PlannedHook>(Assert.Single(rules.Evaluate(View(drive.UsbDevice)).Actions));

        Assert.Equal(["/bin/echo", "s=" + serial, "abcd"], hook.Argv.ToArray());
    }

    [Fact]
    public void Trace_Miss_NamesFirstFailingKeyWithPatternAndValue()
    {
        var drive = _sysfs.AddTwinFlashDrive();
        RuleSet rules = Examples();

        RuleTrace trace = rules.Trace(View(drive.UsbDevice)).First(t => t.Rule == "flash-to-winxp");

        Assert.Equal(new RuleTrace("flash-to-winxp", "t.yaml", "no match", "serial", "576B63C4", SysfsFixture.TwinSerial), trace);
    }

    [Fact]
    public void Match_SeedDrive_AllocatesNothing()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadDirectory(RuleCorpus.Directory("good"), 1).RuleSet!;
        DeviceView usb = View(drive.UsbDevice);
        DeviceView partition = View(drive.Partition!);
        var results = new RuleMatch[rules.Rules.Count];
        rules.Match(usb, results);
        rules.Match(partition, results);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 0;
        for (int i = 0; i < 1000; i++)
        {
            total += rules.Match(usb, results) + rules.Match(partition, results);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(total > 0);
    }

    [Fact]
    public void Plan_SerialisesWithSourceGeneratedJson()
    {
        var drive = _sysfs.AddSeedFlashDrive();
        Plan plan = Examples().Evaluate(View(drive.UsbDevice));

        string json = System.Text.Json.JsonSerializer.Serialize(plan, RulesJsonContext.Default.Plan);

        Assert.Contains("\"type\": \"attach\"", json, StringComparison.Ordinal);
        Assert.Contains("\"kind\": \"UsbHost\"", json, StringComparison.Ordinal);
        Assert.Contains("\"serial\": \"576B63C4\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "removable")]
    [InlineData(", removable: false", "fixed disk")]
    public void Evaluate_DriveAsUsbStorage_PlanShowsRemovableAndSerial(string forced, string shown)
    {
        var drive = _sysfs.AddSeedFlashDrive();
        RuleSet rules = Load("rules:\n  - name: a\n    match: { subsystem: block, devtype: disk }\n    attach: { vm: winxp, as: usb-storage" + forced + " }\n");

        Plan plan = rules.Evaluate(View(drive.Disk!));

        Assert.Equal("attach to winxp as usb-storage, " + shown + ", serial \"576B63C4\"", Assert.Single(plan.Actions).Describe());
    }

    [Fact]
    public void Evaluate_FixedDiskAsUsbStorage_PlanShowsFixedDisk()
    {
        var drive = _sysfs.UsbDevice(2, "1.5", "0781", "5581").Strings("SanDisk", "Extreme", "AA010203").DevNum(9).Interface(0x08, 0x06, 0x50, "usb-storage").ScsiDisk("sde", sizeBytes: 1 << 30, removable: false).Add();
        RuleSet rules = Load("rules:\n  - name: a\n    match: { subsystem: block, devtype: disk }\n    attach: { vm: winxp, as: usb-storage }\n");

        Plan plan = rules.Evaluate(View(drive.Disk!));

        Assert.Equal("attach to winxp as usb-storage, fixed disk, serial \"AA010203\"", Assert.Single(plan.Actions).Describe());
    }
}
