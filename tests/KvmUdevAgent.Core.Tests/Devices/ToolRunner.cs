using System.Diagnostics;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>Runs a system tool for a test; a missing tool fails the test naming its Debian package.</summary>
internal static class ToolRunner
{
    public static string Run(string tool, string debianPackage, params string[] args)
    {
        string? path = Find(tool) ?? throw new InvalidOperationException($"'{tool}' is not installed; install the Debian package '{debianPackage}'");
        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish in 30 s");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
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
