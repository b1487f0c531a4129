using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 17, defect 1: with a directory above <c>mount_base</c> writable by a user, swapping the
/// base for a symlink between the agent's checks and mount(8) mounted the drive elsewhere (here
/// <c>etc/LOOT</c>, a stand-in for <c>/etc/cron.d</c>). The mount table is the judge.
/// </summary>
public sealed class Issue17_MountBaseRaceTests
{
    private const int Tries = 25;

    [Fact]
    public async Task MountBaseParentWritable_SymlinkSwappedDuringMounts_NothingMountedOutsideBase()
    {
        string token = "t" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        await using LoopDevice loop = await LoopDevice.CreateAsync(ext4Label: "LOOT");
        string attic = Path.Combine(env.Work, "attic");
        string mountBase = Path.Combine(attic, "media");
        string decoy = Path.Combine(env.Work, "etc", "LOOT");
        Directory.CreateDirectory(mountBase);
        Directory.CreateDirectory(decoy);
        env.WriteRules("20-mount.yaml", $$"""
            rules:
              - name: mount-loot
                match:
                  subsystem: block
                  props: { SYNTH_ARG_RUNID: "{{token}}" }
                mount: { path: "{fs_label}", options: [ro] }
            """);
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys", mountBase: mountBase);
        await env.StartDaemonAsync();

        // The mistake that makes the race possible: a parent of the base anyone can write.
        File.SetUnixFileMode(attic, (UnixFileMode)0b111_111_111);
        var strays = new List<string>();
        using var swapper = new SymlinkSwapper(mountBase, "../etc");
        try
        {
            for (int i = 1; i <= Tries && strays.Count == 0; i++)
            {
                swapper.Start();
                loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
                await env.Syslog.WaitForAsync(m => m.MsgId == "device.mount", i, TimeSpan.FromSeconds(20));
                swapper.Stop();
                strays.AddRange(MountsOf(loop).Where(m => !m.StartsWith(mountBase + "/", StringComparison.Ordinal)));
                await UnmountAllAsync(loop);
            }

            Assert.True(swapper.Swaps > 0, "the swapper never swapped");
            Assert.True(strays.Count == 0, "the drive was mounted outside the mount base at: " + string.Join(", ", strays));
            var records = env.Syslog.ReadAll().Where(m => m.MsgId == "device.mount").ToList();
            Assert.All(records, r => Assert.Equal("failure", r.Element("kua@32473")["outcome"]));
            Assert.Contains("writable", records[0].Element("kua@32473")["error"], StringComparison.Ordinal);
        }
        finally
        {
            swapper.Stop();
            await UnmountAllAsync(loop);
        }
    }

    // Mount points (from /proc/self/mountinfo, unescaped) whose source is the loop device.
    private static List<string> MountsOf(LoopDevice loop) =>
        [.. File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(f => Array.IndexOf(f, "-") is int dash && dash > 0 && dash + 2 < f.Length && f[dash + 2] == loop.DevicePath)
            .Select(f => System.Text.RegularExpressions.Regex.Replace(f[4], @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString()))];

    private static async Task UnmountAllAsync(LoopDevice loop)
    {
        foreach (string mountPoint in Enumerable.Reverse(MountsOf(loop)))
        {
            await ProcessRunner.RunAsync("umount", ["-l", "--", mountPoint]);
        }
    }
}
