namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    public const int UeventSourceOpened = 1000;
    public const int UeventRejected = 1001;
    public const int ReceiveBufferOverrun = 1002;
    public const int SequenceGap = 1003;
    public const int UeventSourceFailed = 1004;
    public const int RingOverflow = 1005;
}
