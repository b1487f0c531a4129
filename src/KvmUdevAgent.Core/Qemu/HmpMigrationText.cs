namespace KvmUdevAgent.Core.Qemu;

/// <summary>Reads HMP's <c>info status</c> and <c>info migrate</c> text (QEMU 7.2's format).</summary>
internal static class HmpMigrationText
{
    /// <summary><c>VM status: running</c> → running; <c>VM status: paused (postmigrate)</c> → postmigrate; plain <c>paused</c> → paused.</summary>
    public static string ParseRunState(IReadOnlyList<string> lines)
    {
        const string Prefix = "VM status: ";
        foreach (string line in lines)
        {
            if (!line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            string rest = line[Prefix.Length..].Trim();
            int open = rest.IndexOf('(', StringComparison.Ordinal);
            return open >= 0 && rest.EndsWith(')') ? rest[(open + 1)..^1] : rest;
        }

        return "unknown";
    }

    /// <summary>
    /// <c>Migration status: failed (error text)</c>, <c>transferred ram: 789 kbytes</c>, <c>remaining ram: 0 kbytes</c>,
    /// <c>total ram: 131592 kbytes</c>, <c>total time: 39 ms</c>. No status line means no migration yet.
    /// </summary>
    public static MigrationProgress ParseInfoMigrate(IReadOnlyList<string> lines)
    {
        var progress = new MigrationProgress { Status = MigrationStatuses.None };
        foreach (string line in lines)
        {
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            string key = line[..colon];
            string value = line[(colon + 2)..].Trim();
            switch (key)
            {
                case "Migration status":
                    {
                        int open = value.IndexOf(" (", StringComparison.Ordinal);
                        progress = open > 0 && value.EndsWith(')')
                            ? progress with { Status = value[..open], Error = value[(open + 2)..^1] }
                            : progress with { Status = value };
                        break;
                    }

                case "transferred ram":
                    progress = progress with { TransferredBytes = KBytes(value) };
                    break;
                case "remaining ram":
                    progress = progress with { RemainingBytes = KBytes(value) };
                    break;
                case "total ram":
                    progress = progress with { TotalBytes = KBytes(value) };
                    break;
                case "total time":
                    progress = progress with { TotalTimeMs = MigrationCommands.ParseLong(value.Split(' ')[0]) };
                    break;
            }
        }

        return progress;
    }

    /// <summary>HMP answers a failed command with text instead of an error object; any <c>Error:</c>/<c>failed</c> line is one.</summary>
    public static void ThrowIfError(IReadOnlyList<string> lines, string command)
    {
        string? error = lines.FirstOrDefault(l => l.StartsWith("Error: ", StringComparison.Ordinal) || l.Contains("failed", StringComparison.OrdinalIgnoreCase) || l.StartsWith("unknown command", StringComparison.Ordinal));
        if (error is not null)
        {
            throw new QmpException(QmpErrorClasses.GenericError, error.StartsWith("Error: ", StringComparison.Ordinal) ? error[7..] : error, command);
        }
    }

    private static long KBytes(string value) => MigrationCommands.ParseLong(value.Split(' ')[0]) * 1024;
}
