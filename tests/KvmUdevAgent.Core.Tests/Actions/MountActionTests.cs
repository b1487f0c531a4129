using ToolRunner = KvmUdevAgent.Core.Tests.Devices.ToolRunner;
using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

/// <summary>Real mount(8) on loop devices with ext4 images; assertions read /proc/self/mountinfo.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MountActionTests(LoopDeviceFixture loops) : IClassFixture<LoopDeviceFixture>
{
    [Fact]
    public async Task ApplyAsync_Ext4_MountedWithForcedOptionsAndRevertRemovesIt()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var result = await action.ApplyAsync(Request(loops.FlashA, "FLASH"), CancellationToken.None);

            Assert.Equal(MountOutcome.Mounted, result.Outcome);
            Assert.Equal(mountBase + "/FLASH", result.MountPoint);
            Assert.Equal(["rw", "nosuid", "nodev", "noexec", "errors=remount-ro"], result.Options.ToArray());
            var entry = MountInfo.FindByMountPoint(MountInfo.Read(), result.MountPoint!);
            Assert.NotNull(entry);
            Assert.Equal("ext4", entry.FsType);
            Assert.Equal(loops.FlashA, entry.Source);
            Assert.True(entry.HasMountOption("rw"));
            Assert.True(entry.HasMountOption("nosuid"));
            Assert.True(entry.HasMountOption("nodev"));
            Assert.True(entry.HasMountOption("noexec"));
            Assert.True(entry.HasSuperOption("errors=remount-ro"));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(mountBase));

            var reverted = await action.RevertAsync(result.MountPoint!, CancellationToken.None);

            Assert.Equal(MountOutcome.Unmounted, reverted.Outcome);
            Assert.Null(reverted.Error);
            Assert.Null(MountInfo.FindByMountPoint(MountInfo.Read(), result.MountPoint!));
            Assert.False(Directory.Exists(result.MountPoint));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_ReadOnly_MountedRo()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var result = await action.ApplyAsync(Request(loops.FlashA, "FLASH") with { ReadOnly = true }, CancellationToken.None);

            Assert.Equal(MountOutcome.Mounted, result.Outcome);
            var entry = MountInfo.FindByMountPoint(MountInfo.Read(), result.MountPoint!);
            Assert.NotNull(entry);
            Assert.True(entry.HasMountOption("ro"));
            Assert.True(entry.HasMountOption("noexec"));
            Assert.Equal(MountOutcome.Unmounted, (await action.RevertAsync(result.MountPoint!, CancellationToken.None)).Outcome);
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_AllowExec_NoexecNotForced()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var result = await action.ApplyAsync(Request(loops.FlashA, "FLASH") with { Allow = MountAllow.Exec }, CancellationToken.None);

            Assert.Equal(MountOutcome.Mounted, result.Outcome);
            var entry = MountInfo.FindByMountPoint(MountInfo.Read(), result.MountPoint!)!;
            Assert.False(entry.HasMountOption("noexec"));
            Assert.True(entry.HasMountOption("nosuid"));
            Assert.True(entry.HasMountOption("nodev"));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_HostileLabel_StaysInsideBase()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        var etcBefore = Directory.GetFileSystemEntries("/etc").Length;
        try
        {
            var label = (await ToolRunner.RunAsync(ToolRunner.Require("blkid", "util-linux"), "-o", "value", "-s", "LABEL", loops.Hostile)).Trim();
            Assert.Equal("../../etc", label);

            var result = await action.ApplyAsync(Request(loops.Hostile, label), CancellationToken.None);

            Assert.Equal(MountOutcome.Mounted, result.Outcome);
            Assert.Equal(mountBase, Path.GetDirectoryName(result.MountPoint));
            Assert.Equal("_._.._etc", Path.GetFileName(result.MountPoint));
            Assert.Null(MountInfo.FindByMountPoint(MountInfo.Read(), "/etc"));
            Assert.Equal(etcBefore, Directory.GetFileSystemEntries("/etc").Length);
            Assert.Equal(MountOutcome.Unmounted, (await action.RevertAsync(result.MountPoint!, CancellationToken.None)).Outcome);
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_NameWithSpaceAndUnicode_FoundInMountTableAndReverted()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var result = await action.ApplyAsync(Request(loops.FlashA, "My Stick\t☃"), CancellationToken.None);

            Assert.Equal(MountOutcome.Mounted, result.Outcome);
            Assert.Equal(mountBase + "/My Stick_☃", result.MountPoint);
            Assert.Equal(loops.FlashA, MountInfo.FindByMountPoint(MountInfo.Read(), result.MountPoint!)!.Source);
            Assert.Equal(MountOutcome.Unmounted, (await action.RevertAsync(result.MountPoint!, CancellationToken.None)).Outcome);
            Assert.False(Directory.Exists(result.MountPoint));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_NameTakenByMountAndByNonEmptyDirectory_GetsSuffix()
    {
        var mountBase = loops.NewBase();
        Directory.CreateDirectory(mountBase, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(mountBase + "/FLASH-2");
        await File.WriteAllTextAsync(mountBase + "/FLASH-2/keep.txt", "not a mount point");
        using var action = new MountAction(mountBase);
        try
        {
            var first = await action.ApplyAsync(Request(loops.FlashA, "FLASH"), CancellationToken.None);
            var second = await action.ApplyAsync(Request(loops.FlashB, "FLASH"), CancellationToken.None);

            Assert.Equal(MountOutcome.Mounted, first.Outcome);
            Assert.Equal(mountBase + "/FLASH", first.MountPoint);
            Assert.Equal(MountOutcome.Mounted, second.Outcome);
            Assert.Equal(mountBase + "/FLASH-3", second.MountPoint);
            var table = MountInfo.Read();
            Assert.Equal(loops.FlashA, MountInfo.FindByMountPoint(table, mountBase + "/FLASH")!.Source);
            Assert.Equal(loops.FlashB, MountInfo.FindByMountPoint(table, mountBase + "/FLASH-3")!.Source);
            Assert.Null(MountInfo.FindByMountPoint(table, mountBase + "/FLASH-2"));
            Assert.Equal("not a mount point", await File.ReadAllTextAsync(mountBase + "/FLASH-2/keep.txt"));
            Assert.Equal([mountBase + "/FLASH"], action.FindMounts(loops.FlashA).Select(e => e.MountPoint));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_TwoDrivesSameLabelAtOnce_DistinctMountPoints()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var results = await Task.WhenAll(
                Task.Run(() => action.ApplyAsync(Request(loops.FlashA, "FLASH"), CancellationToken.None)),
                Task.Run(() => action.ApplyAsync(Request(loops.FlashB, "FLASH"), CancellationToken.None)));

            Assert.All(results, r => Assert.Equal(MountOutcome.Mounted, r.Outcome));
            Assert.Equal([mountBase + "/FLASH", mountBase + "/FLASH-2"], results.Select(r => r.MountPoint).Order(StringComparer.Ordinal));
            var table = MountInfo.Read();
            Assert.Equal(2, MountInfo.FindUnderBase(table, mountBase).Count);
            Assert.All(results, r => Assert.Single(table, e => e.MountPoint == r.MountPoint));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_SameDeviceTwice_AlreadyMounted()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var first = await action.ApplyAsync(Request(loops.FlashA, "FLASH"), CancellationToken.None);
            var second = await action.ApplyAsync(Request(loops.FlashA, "OTHER"), CancellationToken.None);

            Assert.Equal(MountOutcome.AlreadyMounted, second.Outcome);
            Assert.Equal(first.MountPoint, second.MountPoint);
            Assert.Single(MountInfo.FindUnderBase(MountInfo.Read(), mountBase));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task RevertAsync_Busy_LazilyUnmounted()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var result = await action.ApplyAsync(Request(loops.FlashA, "FLASH"), CancellationToken.None);
            Assert.Equal(MountOutcome.Mounted, result.Outcome);
            var reverted = await RevertWhileHeldOpenAsync(action, result.MountPoint!);

            Assert.Equal(MountOutcome.LazilyUnmounted, reverted.Outcome);
            Assert.Null(MountInfo.FindByMountPoint(MountInfo.Read(), result.MountPoint!));
            Assert.False(Directory.Exists(result.MountPoint));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task RevertAsync_NothingMounted_SucceedsAsNotMounted()
    {
        var mountBase = loops.NewBase();
        Directory.CreateDirectory(mountBase, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(mountBase + "/GONE");
        using var action = new MountAction(mountBase);

        var result = await action.RevertAsync(mountBase + "/GONE", CancellationToken.None);

        Assert.Equal(MountOutcome.NotMounted, result.Outcome);
        Assert.True(result.Succeeded);
        Assert.False(Directory.Exists(mountBase + "/GONE"));
    }

    [Theory]
    [InlineData("/etc")]
    [InlineData("/")]
    [InlineData("relative")]
    public async Task RevertAsync_OutsideBase_Refused(string path)
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);

        var result = await action.RevertAsync(path, CancellationToken.None);

        Assert.Equal(MountOutcome.Failed, result.Outcome);
        Assert.Contains("is not a mount point directly inside", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevertAsync_DotDotInsideBase_Refused()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);

        var result = await action.RevertAsync(mountBase + "/../x", CancellationToken.None);

        Assert.Equal(MountOutcome.Failed, result.Outcome);
    }

    [Theory]
    [InlineData("/etc/passwd", "is not an absolute path under /dev")]
    [InlineData("/dev/../etc/passwd", "has an empty, '.' or '..' segment")]
    [InlineData("dev/loop0", "is not an absolute path under /dev")]
    [InlineData("/dev/null", "is not a block device")]
    [InlineData("/dev/kua-does-not-exist", "does not exist")]
    public async Task ApplyAsync_BadDeviceNode_Refused(string devNode, string expected)
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);

        var result = await action.ApplyAsync(Request(devNode, "X"), CancellationToken.None);

        Assert.Equal(MountOutcome.Failed, result.Outcome);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(mountBase));
    }

    [Fact]
    public async Task ApplyAsync_SuidWithoutAllow_RefusedBeforeMounting()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);

        var result = await action.ApplyAsync(Request(loops.FlashA, "X") with { Options = ["suid"] }, CancellationToken.None);

        Assert.Equal(MountOutcome.Failed, result.Outcome);
        Assert.Equal("mount option 'suid' needs 'allow: [suid]' in the rule", result.Error);
        Assert.Empty(action.FindMounts(loops.FlashA));
    }

    [Fact]
    public async Task ApplyAsync_MountFails_DirectoryRemovedAndErrorReturned()
    {
        var mountBase = loops.NewBase();
        using var action = new MountAction(mountBase);
        try
        {
            var result = await action.ApplyAsync(Request(loops.FlashA, "FLASH") with { FsType = "vfat" }, CancellationToken.None);

            Assert.Equal(MountOutcome.Failed, result.Outcome);
            Assert.StartsWith("mount failed (exit 32): ", result.Error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(mountBase + "/FLASH"));
        }
        finally
        {
            await CleanupAsync(mountBase);
        }
    }

    [Fact]
    public async Task ApplyAsync_BaseWritableByOthers_Refused()
    {
        var mountBase = loops.NewBase();
        Directory.CreateDirectory(mountBase);
        File.SetUnixFileMode(mountBase, (UnixFileMode)0x1ff);
        using var action = new MountAction(mountBase);

        var result = await action.ApplyAsync(Request(loops.FlashA, "FLASH"), CancellationToken.None);

        Assert.Equal(MountOutcome.Failed, result.Outcome);
        Assert.Contains("not writable by group or others", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApplyAsync_BaseThroughSymlink_Refused()
    {
        var real = loops.NewBase();
        Directory.CreateDirectory(real, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var link = real + "-link";
        File.CreateSymbolicLink(link, real);
        using var action = new MountAction(link + "/inner");

        var result = await action.ApplyAsync(Request(loops.FlashA, "FLASH"), CancellationToken.None);

        Assert.Equal(MountOutcome.Failed, result.Outcome);
        Assert.Contains("goes through the symlink", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(real + "/inner"));
    }

    private static MountRequest Request(string devNode, string? name) =>
        new() { DevNode = devNode, Name = name, KernelName = Path.GetFileName(devNode), FsType = "ext4" };

    /// <summary>Holds a file open inside the mount (EBUSY for umount) while reverting, then lets go.</summary>
    private static async Task<MountResult> RevertWhileHeldOpenAsync(MountAction action, string mountPoint)
    {
        await using var held = new FileStream(mountPoint + "/held.txt", FileMode.Create, FileAccess.ReadWrite);
        await held.WriteAsync("busy"u8.ToArray());
        return await action.RevertAsync(mountPoint, CancellationToken.None);
    }

    /// <summary>Undoes whatever a failed test left mounted in its base.</summary>
    private static async Task CleanupAsync(string mountBase)
    {
        foreach (var entry in MountInfo.FindUnderBase(MountInfo.Read(), mountBase).Reverse())
        {
            await ToolRunner.RunAsync(ToolRunner.Require("umount", "mount"), "-l", "--", entry.MountPoint);
        }
    }
}
