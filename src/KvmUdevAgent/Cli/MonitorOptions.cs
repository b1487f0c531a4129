using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Cli;

/// <summary>The options of <c>kvm-udev-agent monitor</c>, bound from the command line.</summary>
internal sealed record MonitorOptions
{
    /// <summary>Sources to listen to; <c>both</c> is kernel and udev at once.</summary>
    public required IReadOnlyList<SourceKind> Sources { get; init; }

    public bool Json { get; init; }

    /// <summary>Only events of these subsystems are shown and recorded; empty means all.</summary>
    public IReadOnlySet<string> Subsystems { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public bool Coldplug { get; init; }

    public string? RecordPath { get; init; }

    public string SysfsRoot { get; init; } = "/sys";

    public int ReceiveBufferBytes { get; init; } = 16 * 1024 * 1024;
}
