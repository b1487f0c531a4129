using System.Net.Sockets;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// <c>unix:/dev/log</c>: one datagram per message, as syslog(3) does. The socket is connected on
/// first use; when the path is missing (ENOENT) or the daemon went away (ECONNREFUSED, e.g. after
/// rsyslog restarted and made a new socket file) the send fails and the next one reconnects.
/// </summary>
internal sealed class UnixDatagramSyslogTransport : ISyslogTransport
{
    private readonly string _path;
    private readonly TimeSpan _sendTimeout;
    private Socket? _socket;

    public UnixDatagramSyslogTransport(string path, int maxMessageBytes = SyslogTransports.DefaultMaxMessageBytes, TimeSpan? sendTimeout = null)
    {
        _path = path;
        MaxMessageBytes = maxMessageBytes;
        _sendTimeout = sendTimeout ?? TimeSpan.FromSeconds(5);
    }

    public int MaxMessageBytes { get; }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        Socket socket = _socket ??= Connect();
        try
        {
            // A syslog daemon that stops reading fills the socket queue and the send waits: bound it.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_sendTimeout);
            await socket.SendAsync(message, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Reset();
            throw new TimeoutException($"syslog socket {_path} did not accept a message within {_sendTimeout.TotalSeconds:0.#} s");
        }
        catch
        {
            Reset();
            throw;
        }
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            socket.SendBufferSize = Math.Max(socket.SendBufferSize, MaxMessageBytes + 4096);
            socket.Connect(new UnixDomainSocketEndPoint(_path));
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();

            // .NET reports ENOENT here as "Cannot assign requested address"; say what it means for status output.
            throw new IOException(File.Exists(_path)
                ? $"cannot connect to syslog socket {_path}: {ex.Message}"
                : $"syslog socket {_path} does not exist (no syslog daemon listening)", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void Reset()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public void Dispose() => Reset();
}
