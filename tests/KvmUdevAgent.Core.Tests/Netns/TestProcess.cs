using System.ComponentModel;
using System.Diagnostics;

namespace KvmUdevAgent.Core.Tests.Netns;

/// <summary>Starts external tools for tests; a missing tool fails the test naming its Debian package.</summary>
internal static class TestProcess
{
    /// <summary>Starts <paramref name="tool"/> with stdout/stderr redirected; the caller waits and kills it by its own PID.</summary>
    public static Process Start(string tool, string package, params string[] args)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            return Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is missing: install the Debian package '{package}'", e);
        }
    }

    /// <summary>Runs a tool to completion and returns its stdout; throws with its stderr when it fails.</summary>
    public static async Task<string> RunAsync(string tool, string package, params string[] args)
    {
        using Process process = Start(tool, package, args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {process.ExitCode}: {(await stderr).Trim()}");
        }

        return await stdout;
    }
}
