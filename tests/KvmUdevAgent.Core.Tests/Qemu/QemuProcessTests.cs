namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>The test support itself: what it starts, it stops by PID and cleans up.</summary>
[Collection(QemuTestGroup.Name)]
public sealed class QemuProcessTests
{
    [Fact]
    public async Task Dispose_RunningQemu_KillsThatPidAndDeletesTheTempDir()
    {
        QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { Qmp = true, HmpTcp = true });
        int pid = qemu.Pid;
        string dir = qemu.TempDir;
        Assert.True(File.Exists(qemu.QmpSocket));
        Assert.Equal("qemu-system-x86", File.ReadAllText("/proc/" + pid + "/comm").Trim()[..15]);

        qemu.Dispose();

        Assert.False(Directory.Exists("/proc/" + pid), "QEMU " + pid + " still runs");
        Assert.False(Directory.Exists(dir));
        Assert.Equal(0, qemu.Pid);
    }

    [Fact]
    public async Task StartAsync_BadArguments_FailsWithQemusMessageAndLeavesNothing()
    {
        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            QemuProcess.StartAsync(new QemuOptions { Qmp = true, ExtraArguments = ["-device", "no-such-device"] }));
        Assert.Contains("no-such-device", error.Message, StringComparison.Ordinal);
        // Its own temp dir, named in the message, is gone (other tests' dirs come and go meanwhile).
        var dir = System.Text.RegularExpressions.Regex.Match(error.Message, @"\(in (/[^)]+)\)");
        Assert.True(dir.Success, error.Message);
        Assert.False(Directory.Exists(dir.Groups[1].Value), dir.Groups[1].Value + " was left behind");
    }
}
