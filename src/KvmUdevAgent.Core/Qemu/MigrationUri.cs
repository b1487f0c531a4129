using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A validated migration destination: <c>tcp:HOST:PORT</c> (the seed's form) or <c>unix:/path</c>.
/// Both go into a QMP string and an HMP line, so the host and the path are restricted to
/// <c>[A-Za-z0-9_./-]</c> (and an IPv6 literal in brackets): nothing else can reach a monitor.
/// <c>exec:</c> is refused: it runs a shell command inside QEMU.
/// </summary>
internal sealed record MigrationUri
{
    private MigrationUri(string text) => Text = text;

    public string Text { get; }

    public override string ToString() => Text;

    public static bool TryParse(string? text, [NotNullWhen(true)] out MigrationUri? uri, [NotNullWhen(false)] out string? reason)
    {
        uri = null;
        const string Expected = "expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket";
        if (string.IsNullOrEmpty(text))
        {
            reason = "the destination URI is empty; " + Expected;
            return false;
        }

        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = text[5..];
            if (!path.StartsWith('/') || !HmpLine.IsSafe(path))
            {
                reason = $"'{Printable(text)}': a unix: destination needs an absolute path of letters, digits and _ . / -; " + Expected;
                return false;
            }
        }
        else if (text.StartsWith("tcp:", StringComparison.Ordinal))
        {
            string rest = text[4..];
            int colon = rest.LastIndexOf(':');
            string host = colon > 0 ? rest[..colon] : string.Empty;
            string port = colon > 0 ? rest[(colon + 1)..] : string.Empty;
            bool hostOk = host.StartsWith('[') && host.EndsWith(']') && host.Length > 2
                ? host[1..^1].All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
                : HmpLine.IsSafe(host) && !host.Contains('/', StringComparison.Ordinal);
            if (!hostOk || !ushort.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ushort number) || number == 0)
            {
                reason = $"'{Printable(text)}' is not tcp:HOST:PORT with a host name or address and a port 1-65535; " + Expected;
                return false;
            }
        }
        else
        {
            reason = text.StartsWith("exec:", StringComparison.Ordinal)
                ? "exec: destinations are refused (they run a shell command inside QEMU); " + Expected
                : $"'{Printable(text)}' is not a migration URI the agent sends; " + Expected;
            return false;
        }

        uri = new MigrationUri(text);
        reason = null;
        return true;
    }

    private static string Printable(string text) =>
        new([.. text.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);
}
