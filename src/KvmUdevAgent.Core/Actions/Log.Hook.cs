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

    [LoggerMessage(EventId = LogEvents.HookCgroupFailed, Level = LogLevel.Debug,
        Message = "Hook {Program} runs without its own cgroup, only its process group will be killed: {Why}")]
    public static partial void HookCgroupFailed(ILogger logger, string program, string why);

    [LoggerMessage(EventId = LogEvents.HookCgroupLeft, Level = LogLevel.Debug,
        Message = "Hook cgroup {Path} did not empty after the kill and is left in place")]
    public static partial void HookCgroupLeft(ILogger logger, string path);
}
