using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The byte stream of one monitor connection: buffered reads by line or up to a marker, serialised
/// writes, and, on <c>telnet:</c> endpoints, telnet option negotiation stripped from the input and
/// refused (QEMU's telnet server offers ECHO, SUPPRESS-GO-AHEAD and BINARY; we need none of them,
/// and QEMU works the same whatever we answer). Not thread-safe for concurrent reads: each
/// connection has exactly one reader.
/// </summary>
internal sealed class MonitorTransport : IAsyncDisposable
{
    private const byte Iac = 255;
    private const byte Dont = 254;
    private const byte Do = 253;
    private const byte Wont = 252;
    private const byte Will = 251;
    private const byte Sb = 250;
    private const byte Se = 240;

    /// <summary>
    /// A monitor line or HMP answer longer than this is a protocol error, not a reason to use
    /// memory (issue 17). The longest reply the agent asks for is query-named-block-nodes: 351 KB
    /// measured on QEMU 7.2 for 100 qcow2 drives with 3-deep backing chains (about 585 bytes per
    /// block node), so 2 MiB leaves room for some 3,500 block nodes; QMP events are a few hundred bytes.
    /// </summary>
    private const int MaxBuffered = 2 * 1024 * 1024;

    // After a long answer the buffer goes back to this size, so a connection does not keep 2 MiB.
    private const int InitialBuffer = 16 * 1024;

    /// <summary>TCP_QUICKACK (linux/tcp.h) at IPPROTO_TCP; .NET has no name for it.</summary>
    private const int TcpQuickAck = 12;
    private const int IpProtoTcp = 6;
    private static readonly byte[] s_one = BitConverter.GetBytes(1);

    private readonly Stream _stream;
    private readonly bool _telnet;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _readChunk = new byte[InitialBuffer];
    private byte[] _buffer = new byte[InitialBuffer];
    private int _start;
    private int _end;
    private TelnetState _telnetState;
    private byte _telnetVerb;
    private int _disposed;

    public MonitorTransport(Stream stream, bool telnet)
    {
        _stream = stream;
        _telnet = telnet;
    }

    private enum TelnetState
    {
        Data,
        Iac,
        Option,
        Subnegotiation,
        SubnegotiationIac,
    }

    /// <summary>Bytes read but not consumed yet.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Reads more input into the buffer; false at end of stream.</summary>
    public async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int n = await _stream.ReadAsync(_readChunk, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            QuickAck();

            int before = _end - _start;
            await AppendAsync(_readChunk.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            if (_end - _start > before)
            {
                return true;
            }

            // Only telnet negotiation arrived: read again.
        }
    }

    /// <summary>Consumes <paramref name="count"/> buffered bytes.</summary>
    public void Consume(int count)
    {
        _start += count;
        if (_start == _end)
        {
            _start = _end = 0;
            if (_buffer.Length > InitialBuffer)
            {
                _buffer = new byte[InitialBuffer];
            }
        }
    }

    /// <summary>Reads one line (without its <c>\r\n</c> or <c>\n</c>); null at end of stream.</summary>
    public async ValueTask<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        int scanned = 0;
        while (true)
        {
            ReadOnlySpan<byte> buffered = Buffered;
            int nl = buffered[scanned..].IndexOf((byte)'\n');
            if (nl >= 0)
            {
                nl += scanned;
                int length = nl > 0 && buffered[nl - 1] == '\r' ? nl - 1 : nl;
                byte[] line = buffered[..length].ToArray();
                Consume(nl + 1);
                return line;
            }

            scanned = buffered.Length;
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// QEMU's monitor socket has Nagle on, and HMP echoes a command before it answers: on a fresh
    /// tcp connection the answer then waits for our delayed ACK of the echo (40 ms, measured), which
    /// every on-demand session would pay. TCP_QUICKACK does not stick, so it is set after each read.
    /// </summary>
    private void QuickAck()
    {
        if (_stream is NetworkStream { Socket: { AddressFamily: AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 } socket })
        {
            try
            {
                socket.SetRawSocketOption(IpProtoTcp, TcpQuickAck, s_one);
            }
            catch (SocketException)
            {
                // Only a latency hint.
            }
        }
    }

    /// <summary>The unix socket under this transport; null over TCP or telnet (or a wrapped stream), where no descriptor can be passed.</summary>
    public Socket? UnixSocket => _stream is NetworkStream { Socket: { AddressFamily: AddressFamily.Unix } socket } ? socket : null;

    /// <summary>As <see cref="WriteAsync"/>, with <paramref name="descriptor"/> attached (SCM_RIGHTS) for QEMU to take.</summary>
    /// <exception cref="InvalidOperationException">The transport is not a unix socket.</exception>
    public async ValueTask WriteWithDescriptorAsync(ReadOnlyMemory<byte> data, SafeHandle descriptor, CancellationToken cancellationToken)
    {
        Socket socket = UnixSocket ?? throw new InvalidOperationException("Descriptors can only be passed over a unix socket.");
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int sent = ScmRights.Send(socket, data.Span, descriptor);
            if (sent < data.Length)
            {
                await _stream.WriteAsync(data[sent..], cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        EnsureRoom(data.Length);
        if (!_telnet)
        {
            data.Span.CopyTo(_buffer.AsSpan(_end));
            _end += data.Length;
            return;
        }

        List<byte>? replies = null;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data.Span[i];
            switch (_telnetState)
            {
                case TelnetState.Data:
                    if (b == Iac)
                    {
                        _telnetState = TelnetState.Iac;
                    }
                    else
                    {
                        _buffer[_end++] = b;
                    }

                    break;
                case TelnetState.Iac:
                    if (b == Iac)
                    {
                        _buffer[_end++] = Iac;
                        _telnetState = TelnetState.Data;
                    }
                    else if (b is Will or Wont or Do or Dont)
                    {
                        _telnetVerb = b;
                        _telnetState = TelnetState.Option;
                    }
                    else if (b == Sb)
                    {
                        _telnetState = TelnetState.Subnegotiation;
                    }
                    else
                    {
                        // NOP, GA, and the other two-byte commands carry no data.
                        _telnetState = TelnetState.Data;
                    }

                    break;
                case TelnetState.Option:
                    // Refuse every option: WILL -> DONT, DO -> WONT. WONT/DONT need no answer.
                    if (_telnetVerb is Will or Do)
                    {
                        replies ??= [];
                        replies.Add(Iac);
                        replies.Add(_telnetVerb == Will ? Dont : Wont);
                        replies.Add(b);
                    }

                    _telnetState = TelnetState.Data;
                    break;
                case TelnetState.Subnegotiation:
                    if (b == Iac)
                    {
                        _telnetState = TelnetState.SubnegotiationIac;
                    }

                    break;
                case TelnetState.SubnegotiationIac:
                    _telnetState = b == Se ? TelnetState.Data : TelnetState.Subnegotiation;
                    break;
            }
        }

        if (replies is not null)
        {
            await WriteAsync(replies.ToArray(), cancellationToken).ConfigureAwait(false);
        }
    }

    private void EnsureRoom(int incoming)
    {
        int used = _end - _start;
        if (used + incoming > MaxBuffered)
        {
            throw new MonitorProtocolException("The monitor sent a line longer than 2 MiB (or an HMP answer without its prompt); no answer the agent asks for is that long.");
        }

        if (_end + incoming <= _buffer.Length)
        {
            return;
        }

        byte[] target = used + incoming <= _buffer.Length ? _buffer : new byte[Math.Max(_buffer.Length * 2, used + incoming)];
        Buffer.BlockCopy(_buffer, _start, target, 0, used);
        _buffer = target;
        _start = 0;
        _end = used;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }
}
