using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Design scenario 2 with a real block device: an ext4 image on a loop device, a real kernel
/// event (written to its uevent file), blkid for the label, real mount(8), and the mount table
/// as the judge. A per-test token in the synthetic event keeps other tests' devices out.
/// </summary>
public sealed class MountScenarioTests
{
    private static string Rule(string token) => $$"""
        rules:
          - name: mount-flash
            match:
              subsystem: block
              props: { SYNTH_ARG_RUNID: "{{token}}" }
            mount:
              path: "{fs_label}"
              options: [ro]
        """;

    [Theory]
    [InlineData("kuaflash", "kuaflash")]
    [InlineData("../../etc", "_._.._etc")]
    public async Task KernelAdd_MountedSafelyUnderBase_RemoveUnmountsAndRemovesDirectory(string label, string expectedName)
    {
        string token = "t" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        await using LoopDevice loop = await LoopDevice.CreateAsync(ext4Label: label);
        env.WriteRules("20-mount.yaml", Rule(token));
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys");
        await env.StartDaemonAsync();
        string mountPoint = Path.Combine(env.MountBase, expectedName);
        try
        {
            loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
            string[] fields = await WaitForMountAsync(env, mountPoint, present: true);
            string options = fields[5];
            foreach (string required in (string[])["ro", "nosuid", "nodev", "noexec"])
            {
                Assert.Contains(required, options.Split(','));
            }

            Assert.StartsWith(Path.GetFullPath(env.MountBase) + "/", Path.GetFullPath(mountPoint), StringComparison.Ordinal);
            var mounted = await env.Syslog.WaitForAsync(m => m.MsgId == "device.mount", 1, TimeSpan.FromSeconds(10));
            // A resync (a SEQNUM gap from another test's network namespace) plans the present drive
            // again and audits the idempotent mount once more: the first record is the plug's.
            Assert.Equal(mountPoint, mounted[0].Element("kua@32473")["target"]);
            Assert.Equal(label, mounted[0].Element("kua@32473")["label"]);

            loop.TriggerUevent("remove", Guid.NewGuid(), ("RUNID", token));
            await WaitForMountAsync(env, mountPoint, present: false);
            await env.Syslog.WaitForAsync(m => m.MsgId == "device.unmount", 1, TimeSpan.FromSeconds(10));
            Assert.False(Directory.Exists(mountPoint), "the mount point directory was left behind");
        }
        finally
        {
            // If the test failed half-way, never leave the loop device mounted.
            if (MountFields(mountPoint) is not null)
            {
                await Support.ProcessRunner.RunAsync("umount", ["-l", "--", mountPoint]);
            }
        }
    }

    private static async Task<string[]> WaitForMountAsync(DaemonEnvironment env, string mountPoint, bool present)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            string[]? fields = MountFields(mountPoint);
            if ((fields is not null) == present)
            {
                return fields ?? [];
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{mountPoint} never became {(present ? "mounted" : "unmounted")}\ndaemon stderr:\n{env.Daemon?.Stderr}");
            }

            await Task.Delay(50);
        }
    }

    // /proc/self/mountinfo: field 5 is the mount point (octal-escaped), field 6 the per-mount options.
    private static string[]? MountFields(string mountPoint) =>
        File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .FirstOrDefault(f => f.Length > 5 && Unescape(f[4]) == mountPoint);

    private static string Unescape(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}
