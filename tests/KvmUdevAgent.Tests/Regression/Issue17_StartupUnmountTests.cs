using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 17, defect 8: at start the agent unmounted whatever was at a recorded mount point. A
/// state record for a gone <c>/dev/sdz1</c> at <c>media/ADMIN</c>, and the administrator's own
/// mount of another drive there: the agent must leave that mount alone and say so.
/// </summary>
public sealed class Issue17_StartupUnmountTests
{
    [Fact]
    public async Task RecordedMountPointHoldsAnotherDrive_LeftMountedAndAudited()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        await using LoopDevice loop = await LoopDevice.CreateAsync(ext4Label: "ADMIN");
        string mountPoint = Path.Combine(env.MountBase, "ADMIN");
        Directory.CreateDirectory(mountPoint);
        File.SetUnixFileMode(env.MountBase, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(Path.GetDirectoryName(env.StateFile)!);
        File.WriteAllText(env.StateFile, $$"""
            {
              "version": 1,
              "attachments": [],
              "mounts": [
                {
                  "device": { "dev_path": "/devices/pci0000:00/0000:00:14.0/usb2/2-9/2-9:1.0/host9/target9:0:0/9:0:0:0/block/sdz/sdz1" },
                  "dev_node": "/dev/sdz1",
                  "mount_point": "{{mountPoint}}",
                  "since": "2026-01-01T00:00:00+00:00"
                }
              ]
            }
            """);
        env.WriteConfig();
        try
        {
            // The administrator's own mount, made while the agent was down.
            Assert.Equal(0, (await ProcessRunner.RunAsync("mount", ["-o", "ro", "--", loop.DevicePath, mountPoint])).ExitCode);
            await env.StartDaemonAsync();

            var left = await env.Syslog.WaitForAsync(m => m.MsgId == "device.unmount", 1, TimeSpan.FromSeconds(20));
            Assert.Equal(loop.DevicePath, SourceAt(mountPoint));
            var record = left.Single().Element("kua@32473");
            Assert.Equal("failure", record["outcome"]);
            Assert.Equal(mountPoint, record["target"]);
            Assert.Equal($"{mountPoint} holds {loop.DevicePath}, not the recorded /dev/sdz1; leaving it mounted", record["error"]);
            // The log line is written by the log's own thread, after the audit record may already be read.
            await env.Daemon!.WaitForLogAsync("not the recorded /dev/sdz1; leaving it mounted", TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (SourceAt(mountPoint) is not null)
            {
                await ProcessRunner.RunAsync("umount", ["-l", "--", mountPoint]);
            }
        }
    }

    // The source of the topmost mount at exactly mountPoint, from /proc/self/mountinfo.
    private static string? SourceAt(string mountPoint) =>
        File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .LastOrDefault(f => f.Length > 5 && f[4] == mountPoint) is { } f && Array.IndexOf(f, "-") is int dash && dash > 0
            ? f[dash + 2]
            : null;
}
