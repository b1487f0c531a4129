using KvmUdevAgent.Core.Tests.Audit;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Design scenario 3: rules run hooks with the device's identity; exit status and output are
/// audited; a hook that hangs is killed at its timeout with its children; a failing hook stops nothing.
/// </summary>
public sealed class HookScenarioTests
{
    private const string HostileSerial = "a\"b;$(touch /tmp/kua-pwned)`id` 'c' \\d";

    [Fact]
    public async Task Hooks_ArgvAndEnvironmentExact_TimeoutKillsGroup_FailureReported()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string hooks = Path.Combine(env.Work, "hooks");
        Directory.CreateDirectory(hooks);
        string record = Script(hooks, "record.sh", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.argv\"\nenv | grep '^KUA_' | sort > \"$0.env\"\necho recorded\n");
        string fail = Script(hooks, "fail.sh", "#!/bin/sh\necho 'it broke' >&2\nexit 3\n");
        string hang = Script(hooks, "hang.sh", "#!/bin/sh\nsleep 300 &\necho $! > \"$0.child\"\necho $$ > \"$0.pid\"\nsleep 300\n");
        env.WriteRules("30-hooks.yaml", $$"""
            rules:
              - name: fails
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: ["{{fail}}"] }
              - name: hangs
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: ["{{hang}}"], timeout: 1s }
              - name: records
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: ["{{record}}", "{serial}", "{vendor}:{product}", "{kernel}"] }
            """);
        env.WriteConfig();
        await env.StartDaemonAsync();
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));

        var drive = env.Sysfs.UsbDevice(3, "2", "0781", "5567").Strings("SanDisk", "Cruzer", HostileSerial).Interface(8, 6, 0x50, "usb-storage").Add();
        env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));

        var records = await env.Syslog.WaitForAsync(m => m.MsgId == "device.hook", 3, TimeSpan.FromSeconds(20));
        ParsedSdElement Of(string rule) => records.Single(r => r.Element("kua@32473")["rule"] == rule).Element("kua@32473");
        ParsedSdElement Extra(string rule) => records.Single(r => r.Element("kua@32473")["rule"] == rule).Element("kua.x@32473");

        Assert.Equal("failure", Of("fails")["outcome"]);
        Assert.Equal("3", Extra("fails")["exit_status"]);
        Assert.Contains("it broke", Extra("fails")["stderr"], StringComparison.Ordinal);

        Assert.Equal("failure", Of("hangs")["outcome"]);
        Assert.Equal("true", Extra("hangs")["timed_out"]);
        foreach (string pidFile in (string[])[hang + ".pid", hang + ".child"])
        {
            int pid = int.Parse(await File.ReadAllTextAsync(pidFile), System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(IsAlive(pid), $"hook process {pid} ({Path.GetFileName(pidFile)}) outlived its timeout");
        }

        Assert.Equal("success", Of("records")["outcome"]);
        Assert.Equal(HostileSerial, Of("records")["serial"]);
        Assert.Equal([HostileSerial, "0781:5567", "3-2"], (await File.ReadAllTextAsync(record + ".argv")).TrimEnd('\n').Split('\n'));
        string[] environment = (await File.ReadAllTextAsync(record + ".env")).TrimEnd('\n').Split('\n');
        Assert.Contains("KUA_SERIAL=" + HostileSerial, environment);
        Assert.Contains("KUA_VENDOR=0781", environment);
        Assert.Contains("KUA_PRODUCT=5567", environment);
        Assert.Contains("KUA_RULE=records", environment);
        Assert.Contains("KUA_ACTION=add", environment);
        Assert.False(File.Exists("/tmp/kua-pwned"), "a device string reached a shell");
    }

    internal static string Script(string dir, string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }

    // A zombie waiting for PID 1 to reap it is dead too: look at the state, not just existence.
    internal static bool IsAlive(int pid)
    {
        string stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            string text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
