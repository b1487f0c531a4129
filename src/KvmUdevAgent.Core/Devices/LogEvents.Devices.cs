namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    public const int DevicesBlkidFailed = 2000;
}
