using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Libvirt;

internal static partial class Log
{
    [LoggerMessage(EventId = LogEvents.LibvirtConnected, EventName = nameof(LogEvents.LibvirtConnected), Level = LogLevel.Information,
        Message = "Connected to libvirtd at {Uri}")]
    public static partial void Connected(ILogger logger, string uri);

    [LoggerMessage(EventId = LogEvents.LibvirtConnectFailed, EventName = nameof(LogEvents.LibvirtConnectFailed), Level = LogLevel.Debug,
        Message = "libvirtd at {Uri} not reachable: {Reason}, retrying in {Delay}")]
    public static partial void ConnectFailed(ILogger logger, string uri, string reason, TimeSpan delay);

    [LoggerMessage(EventId = LogEvents.LibvirtDisconnected, EventName = nameof(LogEvents.LibvirtDisconnected), Level = LogLevel.Information,
        Message = "libvirtd at {Uri} closed the connection, reconnecting")]
    public static partial void Disconnected(ILogger logger, string uri);

    [LoggerMessage(EventId = LogEvents.LibvirtCameBackHandlerFailed, EventName = nameof(LogEvents.LibvirtCameBackHandlerFailed), Level = LogLevel.Warning,
        Message = "Reconciling libvirt domain {Domain} at {Uri} failed, ignoring")]
    public static partial void CameBackHandlerFailed(ILogger logger, string domain, string uri, Exception exception);

    [LoggerMessage(EventId = LogEvents.LibvirtDomainStarted, EventName = nameof(LogEvents.LibvirtDomainStarted), Level = LogLevel.Information,
        Message = "libvirt domain {Domain} at {Uri} started or resumed, reconciling")]
    public static partial void DomainStarted(ILogger logger, string domain, string uri);
}
