using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>A tiny tmpfs mounted on a directory of the test's own, to make a disk full on purpose; unmounted by path on dispose.</summary>
internal sealed class SmallTmpfs : IAsyncDisposable
{
    private int _disposed;

    private SmallTmpfs(string path) => Path = path;

    public string Path { get; }

    public static async Task<SmallTmpfs> MountAsync(string path, string size)
    {
        Directory.CreateDirectory(path);
        ProcessRunner.Result result = await RunAsync("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0755", "kua-test", path);
        Assert.True(result.ExitCode == 0, "mount tmpfs failed: " + result);
        return new SmallTmpfs(path);
    }

    /// <summary>Writes <paramref name="file"/> until the file system says ENOSPC.</summary>
    public static void Fill(string file)
    {
        byte[] chunk = new byte[4096];
        using FileStream stream = new(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0);
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException e) when (e.HResult == 28 || e.Message.Contains("No space left", StringComparison.Ordinal))
        {
        }
    }

    private static async Task<ProcessRunner.Result> RunAsync(string file, params string[] args)
    {
        try
        {
            return await ProcessRunner.RunAsync(file, args);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"'{file}' is missing: install the Debian package util-linux (mount)", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if ((await RunAsync("umount", Path)).ExitCode != 0)
        {
            await RunAsync("umount", "-l", Path);
        }
    }
}
