using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace KvmUdevAgent.Core.Audit;

/// <summary>Where syslog messages go: the parsed <c>audit.syslog</c> setting.</summary>
internal sealed record SyslogEndpoint(SyslogTransportKind Kind, string Path, string Host, int Port)
{
    public static readonly SyslogEndpoint Off = new(SyslogTransportKind.Off, "", "", 0);

    /// <summary>
    /// Parses <c>unix:/path</c>, <c>udp:host:port</c>, <c>tcp:host:port</c> (IPv6 as <c>[::1]:514</c>)
    /// or <c>off</c>. The unix path must be absolute.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out SyslogEndpoint? endpoint, [NotNullWhen(false)] out string? reason)
    {
        endpoint = null;
        const string Expected = "expected unix:/path, udp:host:port, tcp:host:port or off";
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = $"empty syslog target; {Expected}";
            return false;
        }

        if (text == "off")
        {
            endpoint = Off;
            reason = null;
            return true;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string scheme = colon < 0 ? text : text[..colon];
        string rest = colon < 0 ? "" : text[(colon + 1)..];
        switch (scheme)
        {
            case "unix":
                if (!rest.StartsWith('/'))
                {
                    reason = $"syslog target '{text}': the unix socket path must be absolute";
                    return false;
                }

                endpoint = new SyslogEndpoint(SyslogTransportKind.Unix, rest, "", 0);
                reason = null;
                return true;
            case "udp" or "tcp":
                int portColon = rest.LastIndexOf(':');
                string host = portColon < 0 ? "" : rest[..portColon];
                if (host.StartsWith('[') && host.EndsWith(']'))
                {
                    host = host[1..^1];
                }

                if (host.Length == 0 || !int.TryParse(rest.AsSpan(portColon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                {
                    reason = $"syslog target '{text}': expected {scheme}:host:port with a port from 1 to 65535";
                    return false;
                }

                endpoint = new SyslogEndpoint(scheme == "udp" ? SyslogTransportKind.Udp : SyslogTransportKind.Tcp, "", host, port);
                reason = null;
                return true;
            default:
                reason = $"syslog target '{text}': unknown transport '{scheme}'; {Expected}";
                return false;
        }
    }

    public override string ToString() => Kind switch
    {
        SyslogTransportKind.Unix => $"unix:{Path}",
        SyslogTransportKind.Udp => $"udp:{Host}:{Port}",
        SyslogTransportKind.Tcp => $"tcp:{Host}:{Port}",
        _ => "off",
    };
}
