namespace KvmUdevAgent.Core;

/// <summary>Qemu feature: 4000-4999.</summary>
internal static partial class LogEvents
{
    public const int MonitorConnected = 4000;
    public const int MonitorConnectFailed = 4001;
    public const int MonitorDisconnected = 4002;
    public const int MonitorCameBackHandlerFailed = 4003;
    public const int QmpEventsDropped = 4030;
    public const int MonitorProtocolBroken = 4031;
    public const int ReconcileCompleted = 4010;
    public const int ReconcileDeviceFailed = 4011;
}
