namespace KvmUdevAgent.Core.Audit;

/// <summary>The transport of a <see cref="SyslogEndpoint"/>.</summary>
internal enum SyslogTransportKind
{
    Unknown = 0,
    Off,
    Unix,
    Udp,
    Tcp,
}
