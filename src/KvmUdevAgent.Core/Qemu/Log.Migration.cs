using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Qemu;

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.GateRunState, EventName = nameof(LogEvents.GateRunState), Level = LogLevel.Debug,
        Message = "VM {Vm}: QEMU run state {RunState}, migration {Migration}")]
    public static partial void GateRunState(ILogger logger, string vm, string runState, string migration);

    [LoggerMessage(EventId = LogEvents.GateEventsUnavailable, EventName = nameof(LogEvents.GateEventsUnavailable), Level = LogLevel.Debug,
        Message = "VM {Vm}: could not turn on the migration 'events' capability ({Reason}), ignoring")]
    public static partial void GateEventsUnavailable(ILogger logger, string vm, string reason);

    [LoggerMessage(EventId = LogEvents.GatePolling, EventName = nameof(LogEvents.GatePolling), Level = LogLevel.Debug,
        Message = "VM {Vm}: {Refusal}; polling its status every {Interval} (HMP has no events)")]
    public static partial void GatePolling(ILogger logger, string vm, string refusal, TimeSpan interval);

    [LoggerMessage(EventId = LogEvents.GateQueryFailed, EventName = nameof(LogEvents.GateQueryFailed), Level = LogLevel.Debug,
        Message = "VM {Vm}: {What} failed, ignoring")]
    public static partial void GateQueryFailed(ILogger logger, string vm, string what, Exception exception);
}
