using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

/// <summary>Issue 15: which events are worth a blkid probe, and which are worth reading at all.</summary>
public sealed class RuleSetFilesystemTests
{
    private static RuleSet Load(string rules)
    {
        var result = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([("t.yaml", "rules:\n" + rules)], 1);
        Assert.True(result.Succeeded, string.Join('\n', result.Diagnostics));
        return result.RuleSet;
    }

    private static DeviceView Block(string action = "add", string kernel = "sdb", string? serial = "S1", string? label = null)
    {
        var uevent = Uevent.Create(UeventSource.Kernel,
            [new("ACTION", action), new("DEVPATH", "/devices/virtual/block/" + kernel), new("SUBSYSTEM", "block"), new("DEVTYPE", "disk")]);
        return new DeviceView(uevent, new DeviceIdentity { Serial = serial, FsLabel = label }, null);
    }

    private static Uevent Event(string action, string subsystem, string? devType, string devPath = "/devices/x/y")
    {
        var properties = new List<KeyValuePair<string, string>> { new("ACTION", action), new("DEVPATH", devPath), new("SUBSYSTEM", subsystem) };
        if (devType is not null)
        {
            properties.Add(new("DEVTYPE", devType));
        }

        return Uevent.Create(UeventSource.Udev, properties);
    }

    [Fact]
    public void NeedsFilesystem_RuleWithoutFilesystemKeys_False()
    {
        RuleSet rules = Load("  - name: r\n    match: { subsystem: block }\n    attach: { vm: winxp }\n    hook: { run: [/bin/echo, \"{serial}\", \"{kernel}\"] }\n");

        Assert.True(rules.Evaluate(Block()).Actions.Length > 0);
        Assert.False(rules.NeedsFilesystem(Block()));
    }

    [Theory]
    [InlineData("match: { subsystem: block, fs_label: \"BACKUP*\" }\n    attach: { vm: winxp }")]
    [InlineData("match: { subsystem: block, fs_uuid: \"!1234\" }\n    attach: { vm: winxp }")]
    [InlineData("match: { fs_type: vfat }\n    hook: { run: [/bin/true] }")]
    [InlineData("match: { subsystem: block }\n    hook: { run: [/bin/echo, \"x{fs_label}x\"] }")]
    [InlineData("match: { subsystem: block }\n    hook: { run: [/bin/true], on_remove: [/bin/echo, \"{fs_uuid}\"] }")]
    [InlineData("match: { subsystem: block }\n    mount: { path: \"{kernel}\" }")]
    public void NeedsFilesystem_RuleUsingTheFilesystemThatCanStillMatch_True(string rule)
    {
        RuleSet rules = Load("  - name: r\n    " + rule + "\n");

        Assert.True(rules.NeedsFilesystem(Block()));
    }

    [Fact]
    public void NeedsFilesystem_OtherConditionFails_False()
    {
        RuleSet rules = Load("  - name: r\n    match: { subsystem: block, serial: \"S9*\", fs_label: BACKUP }\n    attach: { vm: winxp }\n"
            + "  - name: u\n    match: { subsystem: usb, fs_label: BACKUP }\n    attach: { vm: winxp }\n");

        Assert.False(rules.NeedsFilesystem(Block(serial: "S1")));
        Assert.True(rules.NeedsFilesystem(Block(serial: "S90")));
    }

    [Fact]
    public void NeedsFilesystem_RuleWithoutActionOnChange_FalseUnlessItNamesChange()
    {
        RuleSet implicitAction = Load("  - name: r\n    match: { subsystem: block, fs_label: BACKUP }\n    attach: { vm: winxp }\n");
        RuleSet onChange = Load("  - name: r\n    match: { action: change, subsystem: block, fs_label: BACKUP }\n    hook: { run: [/bin/true] }\n");

        Assert.False(implicitAction.NeedsFilesystem(Block("change")));
        Assert.True(implicitAction.NeedsFilesystem(Block("add")));
        Assert.True(onChange.NeedsFilesystem(Block("change")));
        Assert.False(onChange.NeedsFilesystem(Block("add")));
    }

    [Fact]
    public void MayMatch_NoRuleForTheSubsystemOrDevtype_False()
    {
        RuleSet rules = Load("  - name: stick\n    match: { subsystem: usb, devtype: usb_device, vendor: \"058f\" }\n    attach: { vm: winxp }\n"
            + "  - name: disk\n    match: { subsystem: block, fs_label: BACKUP }\n    mount: { path: \"{fs_label}\" }\n");

        Assert.True(rules.MayMatch(Event("add", "usb", "usb_device")));
        Assert.True(rules.MayMatch(Event("remove", "block", "partition")));
        Assert.False(rules.MayMatch(Event("add", "usb", "usb_interface")));
        Assert.False(rules.MayMatch(Event("add", "scsi", "scsi_device")));
        // Rules without 'action:' apply on add and remove only.
        Assert.False(rules.MayMatch(Event("change", "block", "disk")));
        Assert.False(Load("  - name: r\n    match: { subsystem: block }\n    enabled: false\n    hook: { run: [/bin/true] }\n").MayMatch(Event("add", "block", "disk")));
    }

    [Fact]
    public void MayMatch_RuleOnKeysTheEventDoesNotSay_True()
    {
        // vendor and serial are read from sysfs: the event alone cannot rule it out.
        RuleSet rules = Load("  - name: r\n    match: { vendor: \"058f\", serial: \"S*\" }\n    attach: { vm: winxp }\n");

        Assert.True(rules.MayMatch(Event("add", "scsi", "scsi_device")));
    }
}
