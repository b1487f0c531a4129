using System.Diagnostics;

namespace KvmUdevAgent.Core.Tests.State;

/// <summary>A small tmpfs mounted on a temp directory, to make a disk full or read-only on purpose.</summary>
internal sealed class TinyTmpfs : IAsyncDisposable
{
    private TinyTmpfs(string path) => Path = path;

    public string Path { get; }

    public static async Task<TinyTmpfs> MountAsync(string options)
    {
        string path = Directory.CreateTempSubdirectory("kua-tmpfs-").FullName;
        try
        {
            await RunAsync("mount", "-t", "tmpfs", "-o", options + ",mode=0755", "kua-test", path);
        }
        catch
        {
            Directory.Delete(path);
            throw;
        }

        return new TinyTmpfs(path);
    }

    public Task RemountAsync(string options) => RunAsync("mount", "-o", options, Path);

    /// <summary>Writes to <paramref name="file"/> until the file system says ENOSPC.</summary>
    public static async Task FillAsync(string file)
    {
        byte[] chunk = new byte[4096];
        await using FileStream stream = new(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0);
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException ex) when (ex.Message.Contains("No space left on device", StringComparison.Ordinal))
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync("umount", Path);
        Directory.Delete(Path);
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        ProcessStartInfo info = new(file, args) { RedirectStandardError = true, UseShellExecute = false };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{file}' is missing: install the Debian package util-linux (mount)", ex);
        }

        using (process)
        {
            string stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr}");
            }
        }
    }
}
