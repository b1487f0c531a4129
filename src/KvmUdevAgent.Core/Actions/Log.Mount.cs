using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Actions;

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.MountCommandCompleted, Level = LogLevel.Debug,
        Message = "{Program} {Arguments} exited {ExitCode}: {Output}")]
    public static partial void MountCommandCompleted(ILogger logger, string program, string arguments, int exitCode, string output);

    [LoggerMessage(EventId = LogEvents.MountNameTaken, Level = LogLevel.Debug,
        Message = "Mount point {MountPoint} is taken ({Why}), trying the next suffix")]
    public static partial void MountNameTaken(ILogger logger, string mountPoint, string why);
}
