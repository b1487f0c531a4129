using System.ComponentModel;
using System.Diagnostics;

namespace KvmUdevAgent.Tests.Cli;

/// <summary>
/// A loop device over a small temp file, whose <c>uevent</c> file makes the kernel emit real uevents.
/// Detached by the name losetup returned. (The same helper lives in KvmUdevAgent.Core.Tests/Netns.)
/// </summary>
internal sealed class LoopDevice : IAsyncDisposable
{
    private readonly string _file;

    private LoopDevice(string file, string devicePath)
    {
        _file = file;
        DevicePath = devicePath;
    }

    public string DevicePath { get; }

    public string Name => Path.GetFileName(DevicePath);

    public static async Task<LoopDevice> CreateAsync()
    {
        string file = Path.Combine(Path.GetTempPath(), "kua-loop-" + Guid.NewGuid().ToString("N") + ".img");
        await using (FileStream stream = File.Create(file))
        {
            stream.SetLength(1024 * 1024);
        }

        try
        {
            return new LoopDevice(file, (await LosetupAsync("--find", "--show", file)).Trim());
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    /// <summary>Writes <c>ACTION UUID KEY=VALUE...</c> to the device's uevent file (letters and digits only).</summary>
    public void TriggerUevent(string action, params (string Key, string Value)[] args) =>
        File.WriteAllText($"/sys/class/block/{Name}/uevent",
            string.Join(' ', new[] { action, Guid.NewGuid().ToString() }.Concat(args.Select(a => a.Key + "=" + a.Value))));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await LosetupAsync("--detach", DevicePath);
        }
        finally
        {
            File.Delete(_file);
        }
    }

    private static async Task<string> LosetupAsync(params string[] args)
    {
        var info = new ProcessStartInfo("losetup") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("losetup is missing: install the Debian package 'util-linux'", e);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return process.ExitCode == 0 ? await stdout : throw new InvalidOperationException($"losetup {string.Join(' ', args)}: {stderr.Trim()}");
        }
    }
}
