namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    public const int StateWriteFailed = 6000;
    public const int StateWritten = 6001;
    public const int StateTempFileRemoved = 6002;
    public const int StateFinalWriteFailed = 6003;
}
