using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Qemu;

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.OnDemandMonitorBusy, EventName = nameof(LogEvents.OnDemandMonitorBusy), Level = LogLevel.Debug,
        Message = "Monitor of VM {Vm} at {Endpoint} is busy ({Reason}), retrying in {Delay}")]
    public static partial void OnDemandMonitorBusy(ILogger logger, string vm, MonitorEndpoint endpoint, string reason, TimeSpan delay);

    [LoggerMessage(EventId = LogEvents.OnDemandProbeFailed, EventName = nameof(LogEvents.OnDemandProbeFailed), Level = LogLevel.Debug,
        Message = "Probe of VM {Vm} at {Endpoint} failed: {Reason}, probing again later")]
    public static partial void OnDemandProbeFailed(ILogger logger, string vm, MonitorEndpoint endpoint, string reason);

    [LoggerMessage(EventId = LogEvents.OnDemandMonitorLost, EventName = nameof(LogEvents.OnDemandMonitorLost), Level = LogLevel.Information,
        Message = "Monitor of VM {Vm} at {Endpoint} stopped answering the probe: {Reason}, probing again later")]
    public static partial void OnDemandMonitorLost(ILogger logger, string vm, MonitorEndpoint endpoint, string reason);

    [LoggerMessage(EventId = LogEvents.OnDemandReconcile, EventName = nameof(LogEvents.OnDemandReconcile), Level = LogLevel.Information,
        Message = "Probe of VM {Vm}: {Reason}, reconciling")]
    public static partial void OnDemandReconcile(ILogger logger, string vm, string reason);

    [LoggerMessage(EventId = LogEvents.DetachPolling, EventName = nameof(LogEvents.DetachPolling), Level = LogLevel.Debug,
        Message = "Detach of {DeviceId} from VM {Vm}: device_del, then polling qom-list every {Interval} until it leaves (on-demand monitor: no DEVICE_DELETED event)")]
    public static partial void DetachPolling(ILogger logger, string vm, string deviceId, TimeSpan interval);

    [LoggerMessage(EventId = LogEvents.DetachPollingDone, EventName = nameof(LogEvents.DetachPollingDone), Level = LogLevel.Debug,
        Message = "Detach of {DeviceId} from VM {Vm} finished after polling qom-list {Polls} more times (on-demand monitor: no DEVICE_DELETED event)")]
    public static partial void DetachPollingDone(ILogger logger, string vm, string deviceId, int polls);

    [LoggerMessage(EventId = LogEvents.OnDemandMonitorReached, EventName = nameof(LogEvents.OnDemandMonitorReached), Level = LogLevel.Information,
        Message = "Monitor of VM {Vm} at {Endpoint} answers (on-demand, probed every {Interval}): {Protocol}, QEMU {QemuVersion}")]
    public static partial void OnDemandMonitorReached(ILogger logger, string vm, MonitorEndpoint endpoint, TimeSpan interval, KvmUdevAgent.Core.Configuration.MonitorProtocol? protocol, QemuVersion? qemuVersion);
}
