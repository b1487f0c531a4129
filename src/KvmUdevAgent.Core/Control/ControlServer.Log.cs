using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Control;

public sealed partial class ControlServer
{
    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.ControlListening, EventName = nameof(LogEvents.ControlListening), Level = LogLevel.Debug,
            Message = "Control socket listening on {Path} (group {GroupId})")]
        public static partial void Listening(ILogger logger, string path, uint? groupId);

        [LoggerMessage(EventId = LogEvents.ControlStaleSocketReplaced, EventName = nameof(LogEvents.ControlStaleSocketReplaced), Level = LogLevel.Debug,
            Message = "Replaced the stale control socket {Path}: nothing answered on it")]
        public static partial void StaleSocketReplaced(ILogger logger, string path);

        [LoggerMessage(EventId = LogEvents.ControlPeerRefused, EventName = nameof(LogEvents.ControlPeerRefused), Level = LogLevel.Debug,
            Message = "Refused control verb {Verb} for pid {Pid} uid {Uid} gid {Gid}")]
        public static partial void PeerRefused(ILogger logger, string verb, int pid, uint uid, uint gid);

        [LoggerMessage(EventId = LogEvents.ControlBadRequest, EventName = nameof(LogEvents.ControlBadRequest), Level = LogLevel.Debug,
            Message = "Bad control request on connection {Connection} from uid {Uid}: {Reason}")]
        public static partial void BadRequest(ILogger logger, long connection, uint uid, string reason);

        [LoggerMessage(EventId = LogEvents.ControlConnectionFailed, EventName = nameof(LogEvents.ControlConnectionFailed), Level = LogLevel.Debug,
            Message = "Control connection {Connection} ended")]
        public static partial void ConnectionFailed(ILogger logger, long connection, Exception exception);

        // Warning: an exception escaping the handler is a bug in the daemon, and the server is the
        // only place that sees it; the client gets an 'internal' error.
        [LoggerMessage(EventId = LogEvents.ControlHandlerFailed, EventName = nameof(LogEvents.ControlHandlerFailed), Level = LogLevel.Warning,
            Message = "Control verb {Verb} failed unexpectedly, answering with an internal error")]
        public static partial void HandlerFailed(ILogger logger, string verb, Exception exception);

        [LoggerMessage(EventId = LogEvents.ControlAcceptFailed, EventName = nameof(LogEvents.ControlAcceptFailed), Level = LogLevel.Warning,
            Message = "Failed to accept a control connection, ignoring")]
        public static partial void AcceptFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = LogEvents.ControlBusy, EventName = nameof(LogEvents.ControlBusy), Level = LogLevel.Debug,
            Message = "Refused a control connection from uid {Uid}: no slot free for it ({Active} connections open)")]
        public static partial void Busy(ILogger logger, uint uid, int active);
    }
}
