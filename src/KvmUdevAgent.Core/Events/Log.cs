using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Events;

/// <summary>Diagnostic log lines of the event sources; Debug only (style item 20: the consumer logs failures).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.UeventSourceOpened, EventName = nameof(LogEvents.UeventSourceOpened), Level = LogLevel.Debug,
        Message = "Listening for {Source} uevents on netlink group {Group}, port {PortId}, receive buffer {ReceiveBufferBytes} bytes")]
    public static partial void UeventSourceOpened(ILogger logger, UeventSource source, uint group, uint portId, int receiveBufferBytes);

    [LoggerMessage(EventId = LogEvents.UeventRejected, EventName = nameof(LogEvents.UeventRejected), Level = LogLevel.Debug,
        Message = "Dropped {Source} datagram of {Length} bytes from port {SenderPid} uid {Uid}: {Reason}")]
    public static partial void UeventRejected(ILogger logger, UeventSource source, int length, uint senderPid, uint uid, RejectReason reason);

    [LoggerMessage(EventId = LogEvents.ReceiveBufferOverrun, EventName = nameof(LogEvents.ReceiveBufferOverrun), Level = LogLevel.Debug,
        Message = "{Source} netlink receive buffer overran (ENOBUFS), uevents were lost")]
    public static partial void ReceiveBufferOverrun(ILogger logger, UeventSource source);

    [LoggerMessage(EventId = LogEvents.RingOverflow, EventName = nameof(LogEvents.RingOverflow), Level = LogLevel.Debug,
        Message = "{Source} uevent dropped: the pipeline is {Capacity} events behind the receive loop")]
    public static partial void RingOverflow(ILogger logger, UeventSource source, int capacity);

    [LoggerMessage(EventId = LogEvents.SequenceGap, EventName = nameof(LogEvents.SequenceGap), Level = LogLevel.Debug,
        Message = "{Source} SEQNUM jumped from {Previous} to {Current}: {Missing} uevents not seen")]
    public static partial void SequenceGap(ILogger logger, UeventSource source, ulong previous, ulong current, ulong missing);

    [LoggerMessage(EventId = LogEvents.UeventSourceFailed, EventName = nameof(LogEvents.UeventSourceFailed), Level = LogLevel.Debug,
        Message = "{Source} uevent receive loop stopped by a socket error")]
    public static partial void UeventSourceFailed(ILogger logger, UeventSource source, Exception exception);
}
