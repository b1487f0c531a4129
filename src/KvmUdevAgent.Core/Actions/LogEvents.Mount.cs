namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    // Actions 5000 range: 5100-5199 mount, 5200-5299 hook.
    public const int MountCommandCompleted = 5100;
    public const int MountNameTaken = 5101;
}
