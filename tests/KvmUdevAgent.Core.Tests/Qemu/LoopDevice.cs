using System.Diagnostics;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>A real block device: an ext4 image on a temp file behind <c>losetup -f --show</c>; detached and deleted in <see cref="Dispose"/>.</summary>
public sealed class LoopDevice : IDisposable
{
    private readonly string _image;
    private int _disposed;

    private LoopDevice(string image, string devNode)
    {
        _image = image;
        DevNode = devNode;
    }

    public string DevNode { get; }

    public static LoopDevice Create(int megabytes = 8)
    {
        string image = Path.Combine(Path.GetTempPath(), "kua-loop-" + Guid.NewGuid().ToString("N") + ".img");
        using (FileStream file = File.Create(image))
        {
            file.SetLength(megabytes * 1024L * 1024L);
        }

        try
        {
            Run("mkfs.ext4", "e2fsprogs", "-q", "-F", image);
            string devNode = Run("losetup", "util-linux", "-f", "--show", image).Trim();
            return new LoopDevice(image, devNode);
        }
        catch
        {
            File.Delete(image);
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            Run("losetup", "util-linux", "-d", DevNode);
        }
        finally
        {
            File.Delete(_image);
        }
    }

    private static string Run(string tool, string package, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(tool + " is missing: install the Debian package " + package + ".", e);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(tool + " " + string.Join(' ', arguments) + " failed (" + process.ExitCode + "): " + stderr);
            }

            return stdout.Result;
        }
    }
}
