using System.Net.Sockets;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// <c>udp:host:port</c> (RFC 5426): one datagram per message, at most 65,507 bytes (the IPv4 UDP
/// payload limit), so larger messages are shortened by the formatter. UDP has no delivery
/// guarantee; a send fails only for local reasons or an ICMP port-unreachable (ECONNREFUSED on a
/// later send), after which the socket is made anew. The host name is resolved at each (re)connect.
/// </summary>
internal sealed class UdpSyslogTransport : ISyslogTransport
{
    public const int MaxUdpPayload = 65507;

    private readonly string _host;
    private readonly int _port;
    private Socket? _socket;

    public UdpSyslogTransport(string host, int port, int maxMessageBytes = MaxUdpPayload)
    {
        _host = host;
        _port = port;
        MaxMessageBytes = Math.Min(maxMessageBytes, MaxUdpPayload);
    }

    public int MaxMessageBytes { get; }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        try
        {
            if (_socket is null)
            {
                var socket = new Socket(SocketType.Dgram, ProtocolType.Udp);
                _socket = socket;
                socket.SendBufferSize = Math.Max(socket.SendBufferSize, MaxMessageBytes + 4096);
                await socket.ConnectAsync(_host, _port, cancellationToken).ConfigureAwait(false);
            }

            await _socket.SendAsync(message, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _socket?.Dispose();
        _socket = null;
    }
}
