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

    /// <summary>RssAnon / RssFile / RssShmem from /proc/PID/status, e.g. "anon 9.1 + file 8.6 MiB".</summary>
    public static string RssSplit(int pid)
    {
        var parts = new List<string>();
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal) || line.StartsWith("RssFile:", StringComparison.Ordinal))
            {
                long kib = long.Parse(line.AsSpan(8).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                parts.Add($"{line[3..7].ToLowerInvariant()} {kib / 1024.0:F2}");
            }
        }

        return string.Join(" + ", parts) + " MiB";
    }

    /// <summary>The mappings holding the most resident memory (smaps), "path size" each, largest first.</summary>
    public static IEnumerable<string> TopMappings(int pid, int count)
    {
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        string current = "[anon]";
        foreach (string line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            // A mapping's header: "start-end perms offset dev inode [path]"; then "Key: value kB" lines.
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 5 && f[0].Contains('-', StringComparison.Ordinal) && f[0].All(c => c == '-' || char.IsAsciiHexDigit(c)))
            {
                current = f.Length >= 6 ? Path.GetFileName(f[5]) : "[anon]";
            }
            else if (line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                long kib = long.Parse(line.AsSpan(4).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                byName[current] = byName.GetValueOrDefault(current) + kib;
            }
        }

        return byName.OrderByDescending(kv => kv.Value).Take(count).Select(kv => $"{kv.Key} {kv.Value / 1024.0:F1}");
    }

    /// <summary>Copies the process's smaps, status and thread names into <paramref name="directory"/>, for a closer look.</summary>
    public static void Dump(int pid, string directory)
    {
        Directory.CreateDirectory(directory);
        File.Copy($"/proc/{pid}/smaps", Path.Combine(directory, "smaps"), overwrite: true);
        File.Copy($"/proc/{pid}/status", Path.Combine(directory, "status"), overwrite: true);
        File.WriteAllLines(
            Path.Combine(directory, "threads"),
            Directory.EnumerateDirectories($"/proc/{pid}/task").Select(t => Path.GetFileName(t) + " " + File.ReadAllText(Path.Combine(t, "comm")).Trim()));
    }

    /// <summary>The 1-minute load average, for the report.</summary>
    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Trim();
}
