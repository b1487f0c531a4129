using System.ComponentModel;
using System.Diagnostics;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Runs mount(8) or umount(8): argv through <see cref="ProcessStartInfo.ArgumentList"/>
/// (never a shell), a clean environment with <c>LC_ALL=C</c> so messages are the untranslated
/// ones, stdin from nothing, bounded time.
/// </summary>
internal static class MountCommand
{
    internal readonly record struct Result(int ExitCode, string Output, bool TimedOut);

    public static string? Find(string[] candidates)
    {
        foreach (var path in candidates)
        {
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    public static async Task<Result> RunAsync(string program, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }
        psi.Environment.Clear();
        // mount(8) runs /sbin/mount.TYPE helpers (FUSE, ntfs-3g), which need a PATH.
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["LC_ALL"] = "C";

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return new Result(-1, $"cannot run {program}: {e.Message}", false);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return new Result(-1, $"{Path.GetFileName(program)} did not finish within {timeout.TotalSeconds:0} s", true);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        var output = ((await stderr.ConfigureAwait(false)) + (await stdout.ConfigureAwait(false))).Trim();
        return new Result(process.ExitCode, output, false);
    }
}
