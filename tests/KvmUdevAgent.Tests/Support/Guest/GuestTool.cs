using System.ComponentModel;
using System.Diagnostics;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>Runs the tools the guest image is built with (argv, never a shell); a missing one fails naming its Debian package.</summary>
internal static class GuestTool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(string tool, string package, IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["LC_ALL"] = "C";
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is missing: install the Debian package '{package}'", e);
        }

        using (process)
        {
            try
            {
                Task<string> stdout = process.StandardOutput.ReadToEndAsync();
                Task<string> stderr = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromMinutes(5));
                return new Result(process.ExitCode, await stdout, await stderr);
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }
            }
        }
    }

    /// <summary>As <see cref="RunAsync"/>, throwing with the tool's stderr when it fails.</summary>
    public static async Task<string> RunCheckedAsync(string tool, string package, IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        Result result = await RunAsync(tool, package, args, workingDirectory, timeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {result.ExitCode}: {result.Stderr.Trim()}");
        }

        return result.Stdout;
    }
}
