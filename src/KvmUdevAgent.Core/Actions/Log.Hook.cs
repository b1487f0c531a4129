using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Actions;

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.HookStarted, Level = LogLevel.Debug,
        Message = "Started hook {Program} as process group {Pid}")]
    public static partial void HookStarted(ILogger logger, string program, int pid);

    [LoggerMessage(EventId = LogEvents.HookCompleted, Level = LogLevel.Debug,
        Message = "Hook {Program} ({Pid}) finished: {Outcome}, exit code {ExitCode}, signal {Signal}")]
    public static partial void HookCompleted(ILogger logger, string program, int pid, HookOutcome outcome, int? exitCode, int? signal);

    [LoggerMessage(EventId = LogEvents.HookSignalled, Level = LogLevel.Debug,
        Message = "Sent signal {Signal} to hook process group {Pid}")]
    public static partial void HookSignalled(ILogger logger, int pid, int signal);
}
