namespace KvmUdevAgent.Core;

/// <summary>Qemu feature, shared monitors (on-demand connections, monitor-command): 4020-4039.</summary>
internal static partial class LogEvents
{
    public const int OnDemandMonitorBusy = 4020;
    public const int OnDemandProbeFailed = 4021;
    public const int OnDemandMonitorLost = 4022;
    public const int OnDemandReconcile = 4023;
    public const int DetachPollingDone = 4024;
    public const int OnDemandMonitorReached = 4025;
    public const int DetachPolling = 4026;
}
