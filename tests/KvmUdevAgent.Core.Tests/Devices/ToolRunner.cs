using System.Diagnostics;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>Runs a system tool for a test; a missing tool fails the test naming its Debian package.</summary>
internal static class ToolRunner
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs <paramref name="tool"/> (looked up on PATH and the sbin dirs) and returns its stdout.</summary>
    public static string Run(string tool, string debianPackage, params string[] args) =>
        RunAsync(Require(tool, debianPackage), args).GetAwaiter().GetResult();

    /// <summary>The tool's path, or an exception naming the Debian package to install.</summary>
    public static string Require(string tool, string debianPackage) =>
        Find(tool) ?? throw new InvalidOperationException($"'{tool}' is not installed; install the Debian package '{debianPackage}'");

    /// <summary>Runs <paramref name="program"/> (a path) with a timeout; a non-zero exit throws with its stderr. Returns stdout.</summary>
    public static async Task<string> RunAsync(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(s_timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {s_timeout.TotalSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr.ConfigureAwait(false)}");
        }

        return await stdout.ConfigureAwait(false);
    }

    public static string? Find(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        {
            string candidate = Path.Join(dir, tool);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
