using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A parsed monitor address: <c>unix:/path</c>, <c>tcp:host:port</c> or <c>telnet:host:port</c>
/// (the seed's three forms). IPv6 hosts are written in brackets (<c>tcp:[::1]:4444</c>).
/// </summary>
internal readonly record struct MonitorEndpoint
{
    private const string UnixPrefix = "unix:";
    private const string TcpPrefix = "tcp:";
    private const string TelnetPrefix = "telnet:";

    private MonitorEndpoint(MonitorEndpointKind kind, string? path, string? host, int port)
    {
        Kind = kind;
        Path = path;
        Host = host;
        Port = port;
    }

    public MonitorEndpointKind Kind { get; }

    /// <summary>Socket path for <see cref="MonitorEndpointKind.Unix"/>; null otherwise.</summary>
    public string? Path { get; }

    /// <summary>Host name or address for TCP and telnet; null for unix.</summary>
    public string? Host { get; }

    /// <summary>TCP port (1-65535); 0 for unix.</summary>
    public int Port { get; }

    public static MonitorEndpoint Unix(string path) => new(MonitorEndpointKind.Unix, path, null, 0);

    public static MonitorEndpoint Tcp(string host, int port) => new(MonitorEndpointKind.Tcp, null, host, port);

    public static MonitorEndpoint Telnet(string host, int port) => new(MonitorEndpointKind.Telnet, null, host, port);

    public static bool TryParse(string? text, out MonitorEndpoint endpoint, [NotNullWhen(false)] out string? reason)
    {
        endpoint = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = "expected unix:/path, tcp:host:port or telnet:host:port";
            return false;
        }

        if (text.StartsWith(UnixPrefix, StringComparison.Ordinal))
        {
            string path = text[UnixPrefix.Length..];
            // QEMU's own syntax allows ",server,nowait" after the path; that belongs on QEMU's
            // command line, not here, and a comma in a path we pass around is almost always that mistake.
            if (path.Length == 0 || path[0] != '/' || path.Contains(',', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal))
            {
                reason = "expected an absolute socket path after 'unix:' (without QEMU's ',server,nowait' options)";
                return false;
            }

            endpoint = Unix(path);
            reason = null;
            return true;
        }

        MonitorEndpointKind kind;
        string rest;
        if (text.StartsWith(TcpPrefix, StringComparison.Ordinal))
        {
            kind = MonitorEndpointKind.Tcp;
            rest = text[TcpPrefix.Length..];
        }
        else if (text.StartsWith(TelnetPrefix, StringComparison.Ordinal))
        {
            kind = MonitorEndpointKind.Telnet;
            rest = text[TelnetPrefix.Length..];
        }
        else
        {
            reason = "unknown monitor scheme; expected unix:/path, tcp:host:port or telnet:host:port";
            return false;
        }

        if (!TrySplitHostPort(rest, out string? host, out int port, out reason))
        {
            return false;
        }

        endpoint = new MonitorEndpoint(kind, null, host, port);
        return true;
    }

    private static bool TrySplitHostPort(string text, [NotNullWhen(true)] out string? host, out int port, [NotNullWhen(false)] out string? reason)
    {
        host = null;
        port = 0;
        int colon;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                reason = "expected [ipv6-address]:port";
                return false;
            }

            host = text[1..close];
            colon = close + 1;
        }
        else
        {
            colon = text.LastIndexOf(':');
            if (colon <= 0)
            {
                reason = "expected host:port";
                return false;
            }

            host = text[..colon];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                reason = "an IPv6 address must be written in brackets: [::1]:port";
                host = null;
                return false;
            }
        }

        foreach (char c in host)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':' or '_'))
            {
                reason = "the host contains a character that is not allowed in a host name or address";
                host = null;
                return false;
            }
        }

        ReadOnlySpan<char> portText = text.AsSpan(colon + 1);
        if (host.Length == 0 || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            reason = "expected a port number from 1 to 65535";
            host = null;
            port = 0;
            return false;
        }

        reason = null;
        return true;
    }

    /// <summary>Opens a stream to the monitor. Throws <see cref="SocketException"/> when nobody listens.</summary>
    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        Socket socket;
        if (Kind == MonitorEndpointKind.Unix)
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path!), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        else if (Kind is MonitorEndpointKind.Tcp or MonitorEndpointKind.Telnet)
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (IPAddress.TryParse(Host, out IPAddress? address))
                {
                    await socket.ConnectAsync(address, Port, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await socket.ConnectAsync(Host!, Port, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        else
        {
            throw new InvalidOperationException("The endpoint was not parsed.");
        }

        return new NetworkStream(socket, ownsSocket: true);
    }

    public override string ToString() => Kind switch
    {
        MonitorEndpointKind.Unix => UnixPrefix + Path,
        MonitorEndpointKind.Tcp => TcpPrefix + FormatHost() + ":" + Port.ToString(CultureInfo.InvariantCulture),
        MonitorEndpointKind.Telnet => TelnetPrefix + FormatHost() + ":" + Port.ToString(CultureInfo.InvariantCulture),
        _ => "(invalid)",
    };

    private string FormatHost() => Host!.Contains(':', StringComparison.Ordinal) ? "[" + Host + "]" : Host!;
}
