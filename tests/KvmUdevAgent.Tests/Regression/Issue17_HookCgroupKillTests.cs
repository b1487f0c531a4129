using KvmUdevAgent.Tests.Daemon;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 17, defect 9: a hook's child that called <c>setsid</c> left the hook's process group and
/// survived the kill. Each hook now runs in its own cgroup, killed as a whole when the hook ends.
/// </summary>
public sealed class Issue17_HookCgroupKillTests
{
    [Fact]
    public async Task HookChildCallsSetsid_KilledWhenHookEnds()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string hooks = Path.Combine(env.Work, "hooks");
        Directory.CreateDirectory(hooks);
        string hook = Path.Combine(hooks, "escape.sh");
        string pidFile = hook + ".escaped";
        File.WriteAllText(hook, """
            #!/bin/sh
            setsid /bin/sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && exec sleep 301' sh "$0.escaped" </dev/null >/dev/null 2>&1 &
            while [ ! -s "$0.escaped" ]; do sleep 0.05; done
            exit 0
            """);
        File.SetUnixFileMode(hook, (UnixFileMode)0b111_101_101);
        env.WriteRules("30-hooks.yaml", $$"""
            rules:
              - name: escapes
                match: { subsystem: usb, devtype: usb_device }
                hook: { run: ["{{hook}}"], timeout: 20s }
            """);
        env.WriteConfig();
        await env.StartDaemonAsync("--verbose");
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));
        var drive = env.Sysfs.AddSeedFlashDrive();
        int escaped = 0;
        try
        {
            env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));
            var record = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.hook", 1, TimeSpan.FromSeconds(30))).Single();
            Assert.Equal("success", record.Element("kua@32473")["outcome"]);
            escaped = int.Parse(await File.ReadAllTextAsync(pidFile), System.Globalization.CultureInfo.InvariantCulture);

            // The kill is sent before the audit record; give the kernel a moment to finish the process.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (IsAlive(escaped) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.False(IsAlive(escaped), $"the hook's setsid'd child {escaped} outlived the hook\ndaemon stderr:\n{env.Daemon!.Stderr}");
        }
        finally
        {
            if (escaped > 0 && IsAlive(escaped))
            {
                _ = Tmds.Linux.LibC.kill(escaped, 9);
            }
        }
    }

    // A zombie waiting for its reaper is dead too: look at the state, not just existence.
    private static bool IsAlive(int pid)
    {
        try
        {
            string text = File.ReadAllText($"/proc/{pid}/stat");
            return text[(text.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
