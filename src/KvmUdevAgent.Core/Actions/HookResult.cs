namespace KvmUdevAgent.Core.Actions;

/// <summary>How a hook ended, with its bounded output, for the audit record.</summary>
internal sealed record HookResult
{
    public required HookOutcome Outcome { get; init; }

    /// <summary>Exit status when the hook exited by itself.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The terminating signal, when the main process died of one (also after a timeout).</summary>
    public int? Signal { get; init; }

    /// <summary>Process id (and process group/session id) of the hook; 0 when not started.</summary>
    public int Pid { get; init; }

    /// <summary>Standard output as UTF-8 (invalid bytes replaced), at most the request's limit in bytes.</summary>
    public string Stdout { get; init; } = "";

    /// <summary>More output was written than kept, or the pipe was still held open by an escaped process when collection stopped.</summary>
    public bool StdoutTruncated { get; init; }

    public string Stderr { get; init; } = "";

    public bool StderrTruncated { get; init; }

    /// <summary>Why the hook did not start, or why its exit status is unknown.</summary>
    public string? Error { get; init; }

    public TimeSpan Duration { get; init; }

    public bool TimedOut => Outcome == HookOutcome.TimedOut;

    public bool Succeeded => Outcome == HookOutcome.Exited && ExitCode == 0;
}
