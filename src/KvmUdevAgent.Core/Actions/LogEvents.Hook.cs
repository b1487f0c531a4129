namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    public const int HookStarted = 5200;
    public const int HookCompleted = 5201;
    public const int HookSignalled = 5202;
    public const int HookCgroupFailed = 5203;
    public const int HookCgroupLeft = 5204;
}
