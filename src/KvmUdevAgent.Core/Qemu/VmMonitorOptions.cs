namespace KvmUdevAgent.Core.Qemu;

/// <summary>Timeouts and reconnect policy of a <see cref="VmMonitor"/>.</summary>
internal sealed record VmMonitorOptions
{
    /// <summary>Per-command timeout (and greeting timeout). Default 5 s.</summary>
    public TimeSpan CommandTimeout { get; init; } = MonitorConnector.DefaultCommandTimeout;

    /// <summary>How long a detach waits for QEMU to confirm the removal. Default 2 s.</summary>
    public TimeSpan DetachTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>First reconnect delay; doubled after each failure. Default 100 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of the reconnect delay. Default 5 s: a VM started by hand gets its devices within seconds.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether the monitor is held (<see cref="Configuration.VmConnection.Persistent"/>) or reached per action and probe.</summary>
    public Configuration.VmConnection Connection { get; init; } = Configuration.VmConnection.Persistent;

    /// <summary>How often an on-demand monitor is probed for a restarted QEMU. Default 2 s.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an on-demand action waits for a monitor another client holds before it fails. Default 5 s.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether device nodes are passed to QEMU as descriptors. Default auto.</summary>
    public Configuration.PassFdsMode PassFds { get; init; } = Configuration.PassFdsMode.Auto;

    /// <summary>Wraps each new connection's stream (tests record what is sent); null in production.</summary>
    public Func<Stream, Stream>? WrapStream { get; init; }
}
