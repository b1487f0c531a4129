using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.State;

public sealed partial class StateStore
{
    private static partial class Log
    {
        // Warning, not Debug: the writer runs in the background and nobody else sees a failure
        // that no FlushAsync caller is waiting for. The daemon does not log it again.
        [LoggerMessage(EventId = LogEvents.StateWriteFailed, EventName = nameof(LogEvents.StateWriteFailed), Level = LogLevel.Warning,
            Message = "Failed to write the state file {Path}, keeping the state in memory, retrying in {Delay}")]
        public static partial void WriteFailed(ILogger logger, string path, TimeSpan delay, Exception exception);

        [LoggerMessage(EventId = LogEvents.StateFinalWriteFailed, EventName = nameof(LogEvents.StateFinalWriteFailed), Level = LogLevel.Warning,
            Message = "Failed to write the state file {Path} at shutdown; it holds an older state, which the next start reconciles with reality")]
        public static partial void FinalWriteFailed(ILogger logger, string path, Exception exception);

        [LoggerMessage(EventId = LogEvents.StateWritten, EventName = nameof(LogEvents.StateWritten), Level = LogLevel.Debug,
            Message = "Wrote the state file {Path} ({Attachments} attachments, {Mounts} mounts)")]
        public static partial void Written(ILogger logger, string path, int attachments, int mounts);

        [LoggerMessage(EventId = LogEvents.StateTempFileRemoved, EventName = nameof(LogEvents.StateTempFileRemoved), Level = LogLevel.Debug,
            Message = "Removed {Count} temp files of an interrupted write next to {Path}")]
        public static partial void TempFilesRemoved(ILogger logger, int count, string path);
    }
}
