namespace KvmUdevAgent.Core;

/// <summary>Qemu feature, migration and the attach gate: 4500-4599.</summary>
internal static partial class LogEvents
{
    public const int GateRunState = 4500;
    public const int GateEventsUnavailable = 4501;
    public const int GatePolling = 4502;
    public const int GateQueryFailed = 4503;
}
