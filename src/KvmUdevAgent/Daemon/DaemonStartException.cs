namespace KvmUdevAgent.Daemon;

/// <summary>The daemon cannot start (bad rules, socket taken, ...); the message says what to do.</summary>
internal sealed class DaemonStartException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
