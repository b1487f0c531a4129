using System.Globalization;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>Reads a process's memory and CPU figures from /proc.</summary>
internal static class ProcStatus
{
    /// <summary>VmRSS in KiB, or 0 when the process is gone.</summary>
    public static long RssKiB(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>The 1-minute load average, for the report.</summary>
    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Trim();
}
