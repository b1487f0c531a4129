using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// <c>tcp:host:port</c> with RFC 6587 octet-counting framing (<c>LEN SP MSG</c>), so values may
/// hold anything, newlines included. Before each send the socket is checked for an orderly close
/// by the peer (readable with nothing to read): a syslog daemon that restarted closed our
/// connection, and writing into it would lose the message silently; we reconnect first instead.
/// </summary>
internal sealed class TcpSyslogTransport : ISyslogTransport
{
    private readonly string _host;
    private readonly int _port;
    private readonly TimeSpan _timeout;
    private Socket? _socket;

    public TcpSyslogTransport(string host, int port, int maxMessageBytes = SyslogTransports.DefaultMaxMessageBytes, TimeSpan? timeout = null)
    {
        _host = host;
        _port = port;
        MaxMessageBytes = maxMessageBytes;
        _timeout = timeout ?? TimeSpan.FromSeconds(5);
    }

    public int MaxMessageBytes { get; }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        byte[] frame = ArrayPool<byte>.Shared.Rent(message.Length + 12);
        try
        {
            if (_socket is not null && PeerClosed(_socket))
            {
                Dispose();
            }

            if (_socket is null)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                _socket = socket;
                await socket.ConnectAsync(_host, _port, timeout.Token).ConfigureAwait(false);
            }

            int n = Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture), frame);
            frame[n++] = (byte)' ';
            message.Span.CopyTo(frame.AsSpan(n));
            n += message.Length;
            int sent = 0;
            while (sent < n)
            {
                sent += await _socket.SendAsync(frame.AsMemory(sent, n - sent), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Dispose();
            throw new TimeoutException($"syslog server {_host}:{_port} did not accept a message within {_timeout.TotalSeconds:0.#} s");
        }
        catch
        {
            // A partly written frame would corrupt the stream: always start over on a new connection.
            Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private static bool PeerClosed(Socket socket)
    {
        try
        {
            // The server never sends anything: readable means closed (FIN or RST).
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _socket?.Dispose();
        _socket = null;
    }
}
