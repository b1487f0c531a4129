namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    public const int ControlListening = 8000;
    public const int ControlStaleSocketReplaced = 8001;
    public const int ControlPeerRefused = 8002;
    public const int ControlBadRequest = 8003;
    public const int ControlConnectionFailed = 8004;
    public const int ControlHandlerFailed = 8005;
    public const int ControlAcceptFailed = 8006;
    public const int ControlBusy = 8007;
}
