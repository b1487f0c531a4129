using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Qemu;

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.MonitorConnected, EventName = nameof(LogEvents.MonitorConnected), Level = LogLevel.Information,
        Message = "Monitor of VM {Vm} at {Endpoint} connected: {Protocol}, QEMU {QemuVersion}")]
    public static partial void MonitorConnected(ILogger logger, string vm, MonitorEndpoint endpoint, KvmUdevAgent.Core.Configuration.MonitorProtocol protocol, QemuVersion qemuVersion);

    [LoggerMessage(EventId = LogEvents.MonitorConnectFailed, EventName = nameof(LogEvents.MonitorConnectFailed), Level = LogLevel.Debug,
        Message = "Monitor of VM {Vm} at {Endpoint} not reachable: {Reason}, retrying in {Delay}")]
    public static partial void MonitorConnectFailed(ILogger logger, string vm, MonitorEndpoint endpoint, string reason, TimeSpan delay);

    [LoggerMessage(EventId = LogEvents.MonitorDisconnected, EventName = nameof(LogEvents.MonitorDisconnected), Level = LogLevel.Information,
        Message = "Monitor of VM {Vm} at {Endpoint} disconnected, reconnecting")]
    public static partial void MonitorDisconnected(ILogger logger, string vm, MonitorEndpoint endpoint);

    [LoggerMessage(EventId = LogEvents.MonitorCameBackHandlerFailed, EventName = nameof(LogEvents.MonitorCameBackHandlerFailed), Level = LogLevel.Warning,
        Message = "Handling the reconnect of VM {Vm} failed, ignoring")]
    public static partial void MonitorCameBackHandlerFailed(ILogger logger, string vm, Exception exception);

    [LoggerMessage(EventId = LogEvents.ReconcileCompleted, EventName = nameof(LogEvents.ReconcileCompleted), Level = LogLevel.Information,
        Message = "Reconciled VM {Vm}: {Attached} attached, {Detached} detached, {Unchanged} unchanged, {Failed} failed")]
    public static partial void ReconcileCompleted(ILogger logger, string vm, int attached, int detached, int unchanged, int failed);

    [LoggerMessage(EventId = LogEvents.ReconcileDeviceFailed, EventName = nameof(LogEvents.ReconcileDeviceFailed), Level = LogLevel.Warning,
        Message = "Reconcile of VM {Vm} could not attach or detach {DeviceId}, ignoring")]
    public static partial void ReconcileDeviceFailed(ILogger logger, string vm, string deviceId, Exception exception);

    [LoggerMessage(EventId = LogEvents.QmpEventsDropped, EventName = nameof(LogEvents.QmpEventsDropped), Level = LogLevel.Warning,
        Message = "Dropped {Count} QMP events ({Bytes} bytes) from VM {Vm} that nobody waited for, beyond the newest {MaxEvents} events or {MaxBytes} bytes kept")]
    public static partial void QmpEventsDropped(ILogger logger, long count, long bytes, string vm, int maxEvents, int maxBytes);

    [LoggerMessage(EventId = LogEvents.MonitorProtocolBroken, EventName = nameof(LogEvents.MonitorProtocolBroken), Level = LogLevel.Warning,
        Message = "Hung up on the monitor of VM {Vm} at {Endpoint}: {Reason}")]
    public static partial void MonitorProtocolBroken(ILogger logger, string vm, MonitorEndpoint endpoint, string reason);
}
