using CsCheck;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Rules;

namespace KvmUdevAgent.Core.Tests.Regression;

/// <summary>
/// Issue 16: with the kernel source, <c>interfaces</c> read the interface children, which a real
/// kernel creates only after the <c>usb_device</c>'s <c>add</c> (the generic driver sets the
/// configuration first), so the README's seed rule never matched a drive at its add. The interfaces
/// are now read from the <c>descriptors</c> attribute, complete at add, as udev's usb_id does.
/// Every device here is in its state at add: no configuration, no interface children, no driver.
/// </summary>
public sealed class Issue16_InterfacesAtAddTests : IDisposable
{
    private const string FlashOnly = """
        rules:
          - name: flash-only
            match: { subsystem: usb, devtype: usb_device, interfaces: ["08:*:*"] }
            attach: { vm: winxp }
        """;

    private readonly SysfsFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static RuleSet Rules()
    {
        var result = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([("t.yaml", FlashOnly)], 1);
        Assert.True(result.Succeeded, string.Join('\n', result.Diagnostics));
        return result.RuleSet;
    }

    private DeviceView KernelAdd(SysfsFixture.Drive drive) => new DeviceViewFactory(_fx.Root).Create(_fx.KernelEvent(drive.UsbDevice));

    private SysfsFixture.Drive AtAdd(string port, byte[]? descriptors, params (byte Class, byte Sub, byte Proto)[] interfaces)
    {
        var builder = _fx.UsbDevice(2, port, "058f", "6387").Strings("Generic", "Mass Storage", "576B63C4").Unconfigured();
        foreach (var (c, s, p) in interfaces)
        {
            builder.Interface(c, s, p, "usb-storage");
        }

        return builder.Descriptors(descriptors).Add();
    }

    [Fact]
    public void Issue16_FlashDriveAtAdd_MatchesInterfacesFromDescriptorsWithoutInterfaceChildren()
    {
        var (bytes, expected) = DescriptorData.Load("flash-drive");
        var drive = AtAdd("1.4", bytes);
        Assert.Empty(drive.Interfaces);
        Assert.False(Directory.EnumerateDirectories(drive.UsbDevice.Directory, "2-1.4:*").Any());

        DeviceView view = KernelAdd(drive);

        Assert.Equal(expected, UsbDescriptors.ToUdevString(view.Identity.Interfaces));
        Assert.Equal(UsbInterfaceSource.Descriptors, view.Identity.InterfacesSource);
        Assert.Null(view.Identity.InterfacesProblem);
        Assert.Equal(["flash-only"], Rules().Evaluate(view).Actions.Select(a => a.Rule));
    }

    [Fact]
    public void Issue16_SeedDriveFromTheFixtureAtAdd_MatchesTheSeedRuleOfTheExamples()
    {
        var drive = _fx.UsbDevice(2, "1.4", "058f", "6387").Strings("Generic", "Mass Storage", "576B63C4")
            .Interface(0x08, 0x06, 0x50, "usb-storage").Unconfigured().Add();
        RuleSet examples = new RuleSetLoader(RuleCorpus.KnownVms, null)
            .LoadTexts([("10.yaml", File.ReadAllText(Path.Combine(RuleCorpus.Directory("good"), "10-flash-to-winxp.yaml")))], 1).RuleSet!;

        Plan plan = examples.Evaluate(KernelAdd(drive));

        Assert.Equal(["flash-to-winxp"], plan.Actions.OfType<PlannedAttach>().Select(a => a.Rule));
    }

    [Theory]
    [InlineData("composite-flash-keyboard")]
    [InlineData("two-configurations")]
    [InlineData("hub-multi-tt")]
    [InlineData("trailing-interface")]
    public void Issue16_OtherLayoutsAtAdd_ReadCompletelyAndNeverPassAsAFlashDrive(string name)
    {
        var (bytes, expected) = DescriptorData.Load(name);
        var drive = AtAdd("1.2", bytes);

        DeviceView view = KernelAdd(drive);

        Assert.Equal(expected, UsbDescriptors.ToUdevString(view.Identity.Interfaces));
        Assert.Null(view.Identity.InterfacesProblem);
        Assert.True(Rules().Evaluate(view).IsEmpty);
    }

    [Fact]
    public void Issue16_MalformedDescriptorsAtAdd_NeverMatchAndTheTraceSaysWhy()
    {
        var (flash, _) = DescriptorData.Load("flash-drive");
        RuleSet rules = Rules();
        int port = 0;
        // Truncations, a zero or oversized bLength anywhere, and junk, all starting from the one
        // layout that would otherwise match.
        var gen = Gen.OneOf(
            Gen.Int[0, flash.Length - 1].Select(cut => flash[..cut]),
            Gen.Select(Gen.Int[18, flash.Length - 1], Gen.OneOf(Gen.Const((byte)0), Gen.Byte[60, 255])).Select(t =>
            {
                byte[] b = (byte[])flash.Clone();
                int offset = DescriptorData.Offsets(b).Where(o => o.Offset <= t.Item1).Last().Offset;
                b[offset] = t.Item2;
                return b;
            }),
            Gen.Byte.Array[0, 65536 + 100]);

        gen.Sample(bytes =>
        {
            var drive = AtAdd("3." + (++port).ToString(System.Globalization.CultureInfo.InvariantCulture), bytes, (0x08, 0x06, 0x50));
            DeviceView view = KernelAdd(drive);
            RuleTrace trace = rules.Trace(view).Single();
            return rules.Evaluate(view).IsEmpty
                && view.Identity.InterfacesProblem is not null
                && trace.FailedKey == "interfaces"
                && trace.Actual!.Contains("(incomplete: ", StringComparison.Ordinal);
        }, iter: 300, threads: 1);
    }

    [Fact]
    public void Issue16_NoDescriptorsAttribute_FallsBackToInterfaceChildren()
    {
        var drive = _fx.UsbDevice(2, "1.6", "058f", "6387").Interface(0x08, 0x06, 0x50, "usb-storage").Interface(0x03, 0x01, 0x01, "usbhid")
            .Descriptors(null).Add();

        DeviceIdentity identity = KernelAdd(drive).Identity;

        Assert.Equal(["08:06:50", "03:01:01"], identity.Interfaces.ToArray());
        Assert.Equal(UsbInterfaceSource.InterfaceChildren, identity.InterfacesSource);
    }

    [Fact]
    public void Issue16_UdevListLeftUnclosedByCorruptDescriptors_NeverMatches()
    {
        var drive = _fx.AddSeedFlashDrive();
        var props = _fx.UdevProperties(drive.UsbDevice)
            .Select(p => p.Key == "ID_USB_INTERFACES" ? new KeyValuePair<string, string>(p.Key, ":080650") : p);
        var view = new DeviceViewFactory(_fx.Root).Create(Core.Events.Uevent.Create(Core.Events.UeventSource.Udev, props));

        Assert.Equal(["08:06:50"], view.Identity.Interfaces.ToArray());
        Assert.NotNull(view.Identity.InterfacesProblem);
        Assert.True(Rules().Evaluate(view).IsEmpty);
    }
}
