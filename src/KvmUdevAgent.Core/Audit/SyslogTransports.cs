namespace KvmUdevAgent.Core.Audit;

/// <summary>Makes the transport for an endpoint.</summary>
internal static class SyslogTransports
{
    /// <summary>
    /// Default limit for unix and TCP messages (128 KiB): room for a 64 KiB hook output excerpt plus
    /// the fixed fields. rsyslog's own default <c>maxMessageSize</c> is 8 KiB; raise it on the
    /// collector to receive large records whole.
    /// </summary>
    public const int DefaultMaxMessageBytes = 128 * 1024;

    public static ISyslogTransport Create(SyslogEndpoint endpoint) => endpoint.Kind switch
    {
        SyslogTransportKind.Unix => new UnixDatagramSyslogTransport(endpoint.Path),
        SyslogTransportKind.Udp => new UdpSyslogTransport(endpoint.Host, endpoint.Port),
        SyslogTransportKind.Tcp => new TcpSyslogTransport(endpoint.Host, endpoint.Port),
        _ => throw new ArgumentException($"no transport for syslog target '{endpoint}'", nameof(endpoint)),
    };
}
