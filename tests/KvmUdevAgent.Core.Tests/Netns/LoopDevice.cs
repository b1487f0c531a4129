namespace KvmUdevAgent.Core.Tests.Netns;

/// <summary>
/// A loop device over a small temp file: a real block device whose <c>uevent</c> file makes the
/// kernel emit real uevents. Detached by the name losetup returned, never by pattern.
/// </summary>
public sealed class LoopDevice : IAsyncDisposable
{
    private readonly string _backingFile;

    private LoopDevice(string backingFile, string devicePath)
    {
        _backingFile = backingFile;
        DevicePath = devicePath;
    }

    /// <summary><c>/dev/loopN</c>.</summary>
    public string DevicePath { get; }

    /// <summary><c>loopN</c>.</summary>
    public string Name => Path.GetFileName(DevicePath);

    /// <param name="ext4Label">When set, the image is formatted ext4 with this label (mkfs.ext4 -L) before it is attached.</param>
    /// <param name="files">With <paramref name="ext4Label"/>: files (name → text) the new filesystem holds at its root (mkfs.ext4 -d).</param>
    /// <param name="readOnly">
    /// Attach it read-only (<c>losetup --read-only</c>). Never <c>blockdev --setro</c> instead: that flag
    /// stays on the loop device after the detach and makes the next user's device read-only.
    /// </param>
    public static async Task<LoopDevice> CreateAsync(string? ext4Label = null, IReadOnlyDictionary<string, string>? files = null, bool readOnly = false)
    {
        string file = Path.Combine(Path.GetTempPath(), "kua-loop-" + Guid.NewGuid().ToString("N") + ".img");
        await using (FileStream stream = File.Create(file))
        {
            stream.SetLength((ext4Label is null ? 1 : 8) * 1024 * 1024);
        }

        try
        {
            if (ext4Label is not null)
            {
                if (files is null)
                {
                    await TestProcess.RunAsync("mkfs.ext4", "e2fsprogs", "-q", "-F", "-L", ext4Label, file);
                }
                else
                {
                    DirectoryInfo content = Directory.CreateTempSubdirectory("kua-loop-content-");
                    try
                    {
                        foreach (var (name, text) in files)
                        {
                            File.WriteAllText(Path.Combine(content.FullName, name), text);
                        }

                        await TestProcess.RunAsync("mkfs.ext4", "e2fsprogs", "-q", "-F", "-L", ext4Label, "-d", content.FullName, file);
                    }
                    finally
                    {
                        content.Delete(recursive: true);
                    }
                }
            }

            string device;
            if (readOnly)
            {
                device = (await TestProcess.RunAsync("losetup", "util-linux", "--find", "--show", "--read-only", file)).Trim();
            }
            else
            {
                device = (await TestProcess.RunAsync("losetup", "util-linux", "--find", "--show", file)).Trim();
                // A read-only flag set on the block device (blockdev --setro, BLKROSET) outlives its
                // detach, so a loop number a test left read-only refuses writes (EACCES) to the next user.
                await TestProcess.RunAsync("blockdev", "util-linux", "--setrw", device);
            }

            return new LoopDevice(file, device);
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    /// <summary>
    /// Makes the kernel emit a synthetic uevent: <c>ACTION</c>, <c>SYNTH_UUID</c> = <paramref name="uuid"/>
    /// and <c>SYNTH_ARG_KEY=VALUE</c> per argument (letters and digits only, or the kernel says EINVAL).
    /// </summary>
    public void TriggerUevent(string action, Guid uuid, params (string Key, string Value)[] args) =>
        File.WriteAllText($"/sys/class/block/{Name}/uevent",
            string.Join(' ', new[] { action, uuid.ToString() }.Concat(args.Select(a => a.Key + "=" + a.Value))));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await TestProcess.RunAsync("losetup", "util-linux", "--detach", DevicePath);
        }
        finally
        {
            File.Delete(_backingFile);
        }
    }
}
