namespace KvmUdevAgent.Core.Qemu;

/// <summary>How a QEMU monitor is reached, as written in the config's <c>monitor:</c> value.</summary>
internal enum MonitorEndpointKind
{
    Unknown = 0,
    /// <summary><c>unix:/path</c>: QEMU's <c>-monitor unix:/path,server,nowait</c> / <c>-qmp unix:...</c>.</summary>
    Unix,
    /// <summary><c>tcp:host:port</c>: a raw TCP stream.</summary>
    Tcp,
    /// <summary><c>telnet:host:port</c>: TCP with telnet option negotiation (QEMU's <c>-monitor telnet:...</c>).</summary>
    Telnet,
}
