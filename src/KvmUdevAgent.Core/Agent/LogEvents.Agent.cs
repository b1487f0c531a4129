namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    public const int AgentStarted = 9000;
    public const int AgentStopping = 9001;
    public const int AgentPlan = 9002;
    public const int AgentActionFailed = 9003;
    public const int AgentActionDone = 9004;
    public const int AgentOverflow = 9005;
    public const int AgentResync = 9006;
    public const int AgentRulesReloaded = 9007;
    public const int AgentRulesReloadFailed = 9008;
    public const int AgentReconciled = 9009;
    public const int AgentStateRecovered = 9010;
    public const int AgentEventFailed = 9011;
    public const int AgentNoVmReachable = 9012;
    public const int AgentStopped = 9030;
    public const int AgentStoppedUndelivered = 9031;
    public const int AgentRulesUnchanged = 9032;
    public const int AgentDeviceQueueOverflow = 9040;
    public const int AgentEventUnread = 9041;
    public const int AgentHookCgroupsUnavailable = 9020;
    public const int AgentHookCgroupsSwept = 9021;
}
