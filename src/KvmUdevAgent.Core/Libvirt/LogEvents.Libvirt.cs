namespace KvmUdevAgent.Core;

/// <summary>Libvirt feature: 10000-10999.</summary>
internal static partial class LogEvents
{
    public const int LibvirtConnected = 10000;
    public const int LibvirtConnectFailed = 10001;
    public const int LibvirtDisconnected = 10002;
    public const int LibvirtCameBackHandlerFailed = 10003;
    public const int LibvirtDomainStarted = 10004;
}
