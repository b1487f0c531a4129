using System.Globalization;

namespace KvmUdevAgent.Tests.Support;

/// <summary>What the kernel says a process holds in memory (<c>/proc/PID/status</c>).</summary>
internal static class ProcessMemory
{
    /// <summary>The resident set size (<c>VmRSS</c>) in bytes.</summary>
    public static long Rss(int pid)
    {
        string line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        // "VmRSS:	   22528 kB"
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    public static string Megabytes(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
}
