using ToolRunner = KvmUdevAgent.Core.Tests.Devices.ToolRunner;
using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

/// <summary>
/// Real block devices for mount tests: small ext4 images on loop devices. Everything is
/// undone in <see cref="DisposeAsync"/>: mounts inside the temp directory (lazily, in case a
/// test left something busy), loop devices, files.
/// </summary>
public sealed class LoopDeviceFixture : IAsyncLifetime
{
    private readonly List<string> _loops = [];

    public string TempDir { get; } = Directory.CreateTempSubdirectory("kua-mount-").FullName;

    /// <summary>Two devices labelled FLASH, one labelled <c>../../etc</c>.</summary>
    public string FlashA { get; private set; } = "";
    public string FlashB { get; private set; } = "";
    public string Hostile { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var mkfs = ToolRunner.Require("mkfs.ext4", "e2fsprogs");
        var losetup = ToolRunner.Require("losetup", "mount");
        ToolRunner.Require("mount", "mount");
        ToolRunner.Require("umount", "mount");
        FlashA = await CreateAsync(mkfs, losetup, "a.img", "FLASH");
        FlashB = await CreateAsync(mkfs, losetup, "b.img", "FLASH");
        Hostile = await CreateAsync(mkfs, losetup, "c.img", "../../etc");
    }

    public string NewBase()
    {
        var path = Path.Combine(TempDir, "base-" + Guid.NewGuid().ToString("N")[..8]);
        return path;
    }

    public async Task DisposeAsync()
    {
        var umount = ToolRunner.Require("umount", "mount");
        var prefix = TempDir + "/";
        foreach (var entry in MountInfo.Read().Reverse())
        {
            if (entry.MountPoint.StartsWith(prefix, StringComparison.Ordinal))
            {
                await ToolRunner.RunAsync(umount, "-l", "--", entry.MountPoint);
            }
        }
        var losetup = ToolRunner.Require("losetup", "mount");
        foreach (var loop in _loops)
        {
            await ToolRunner.RunAsync(losetup, "-d", loop);
        }
        Directory.Delete(TempDir, recursive: true);
    }

    private async Task<string> CreateAsync(string mkfs, string losetup, string file, string label)
    {
        var image = Path.Combine(TempDir, file);
        await using (var stream = File.Create(image))
        {
            stream.SetLength(8 * 1024 * 1024);
        }
        await ToolRunner.RunAsync(mkfs, "-q", "-F", "-L", label, image);
        var loop = (await ToolRunner.RunAsync(losetup, "-f", "--show", image)).Trim();
        _loops.Add(loop);
        return loop;
    }
}
