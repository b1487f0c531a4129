using System.Buffers;
using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// Writes RFC 5424 messages:
/// <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID@PEN name="value" ...] BOM MSG</c>.
/// <list type="bullet">
/// <item>TIMESTAMP is UTC with microseconds. HOSTNAME (≤255), APP-NAME (≤48), PROCID (≤128) and
/// MSGID (≤32) are printable US-ASCII: other characters become <c>_</c>, longer values are cut,
/// empty ones are written as NILVALUE <c>-</c>.</item>
/// <item>SD-ID is <c>name@PEN</c>; PEN defaults to 32473, the IANA example enterprise number
/// reserved for documentation (RFC 5612): a site with its own number configures it.
/// PARAM-NAMEs are cut to 32 characters and any character outside printable US-ASCII, or one of
/// <c>= ] " space</c>, becomes <c>_</c>.</item>
/// <item>PARAM-VALUE is UTF-8 with <c>"</c>, <c>\</c> and <c>]</c> escaped by a backslash (§6.3.3).
/// Control characters (U+0000–U+001F, U+007F, U+0080–U+009F) are written as <c>\xHH</c>: they are
/// legal in a PARAM-VALUE, but rsyslog rewrites them on reception (newline becomes <c>#012</c>, which
/// a value could also contain literally) and line-based files and terminals mangle them. An RFC
/// parser shows <c>\xHH</c> as those four characters (a backslash not followed by <c>" \ ]</c> is
/// literal); one that knows this convention restores the exact value, because a real backslash is
/// always written <c>\\</c>. Lone UTF-16 surrogates (the only invalid text a .NET string can hold;
/// invalid UTF-8 from devices already became U+FFFD when decoded) are written as U+FFFD.</item>
/// <item>MSG is UTF-8 preceded by the BOM (§6.4); control characters become <c>\xHH</c> as above.</item>
/// <item>A message longer than the transport's limit is shortened by cutting the longest values
/// (and the MSG) at a character boundary; the names of the cut fields go into an extra
/// <c>truncated</c> parameter of the first SD element. STRUCTURED-DATA as a whole is also kept
/// under 64 KiB (<see cref="DefaultMaxStructuredDataBytes"/>): rsyslog keeps its length in a
/// 16-bit field (<c>uint16_t lenStrucData</c> in msg.h), so a longer one comes out of its
/// <c>%structured-data%</c> property cut modulo 65,536 in the middle of a value, unparseable.</item>
/// </list>
/// </summary>
internal sealed class Rfc5424Formatter
{
    /// <summary>The IANA example private enterprise number, reserved for documentation (RFC 5612).</summary>
    public const string DocumentationEnterpriseId = "32473";

    private static readonly byte[] s_bom = [0xEF, 0xBB, 0xBF];

    /// <summary>Largest STRUCTURED-DATA rsyslog can hand on intact (its length is a <c>uint16_t</c>).</summary>
    public const int DefaultMaxStructuredDataBytes = 65535;

    private readonly byte[] _headerAfterPri;
    private readonly int _maxStructuredDataBytes;

    public Rfc5424Formatter(SyslogFacility facility, string? appName, string? hostname = null, string? procId = null, string enterpriseId = DocumentationEnterpriseId, int maxStructuredDataBytes = DefaultMaxStructuredDataBytes)
    {
        if (!IsValidEnterpriseId(enterpriseId))
        {
            throw new ArgumentException($"invalid private enterprise number '{enterpriseId}'", nameof(enterpriseId));
        }

        Facility = facility;
        EnterpriseId = enterpriseId;
        Hostname = HeaderToken(hostname ?? Environment.MachineName, 255);
        AppName = HeaderToken(appName, 48);
        ProcId = HeaderToken(procId ?? Environment.ProcessId.ToString(CultureInfo.InvariantCulture), 128);
        _headerAfterPri = Encoding.ASCII.GetBytes($"{Hostname} {AppName} {ProcId} ");
        _maxStructuredDataBytes = maxStructuredDataBytes;
    }

    public SyslogFacility Facility { get; }

    public string EnterpriseId { get; }

    public string Hostname { get; }

    public string AppName { get; }

    public string ProcId { get; }

    /// <summary>Digits, optionally dot-separated (<c>32473</c>, <c>32473.1.2</c>).</summary>
    public static bool IsValidEnterpriseId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id[0] == '.' || id[^1] == '.' || id.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (char c in id)
        {
            if (c != '.' && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Formats <paramref name="message"/> in at most <paramref name="maxBytes"/> bytes (see the class remarks on shortening).</summary>
    public byte[] Format(SyslogMessage message, int maxBytes = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(message);
        byte[] bytes = FormatCore(message, out int sdBytes);
        return bytes.Length <= maxBytes && sdBytes <= _maxStructuredDataBytes ? bytes : Shorten(message, bytes, sdBytes, maxBytes);
    }

    private byte[] FormatCore(SyslogMessage message, out int sdBytes)
    {
        var output = new ArrayBufferWriter<byte>(256);
        int pri = ((int)Facility * 8) + (int)message.Severity;
        WriteAscii(output, string.Create(CultureInfo.InvariantCulture, $"<{pri}>1 {message.Timestamp.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'} "));
        output.Write(_headerAfterPri);
        WriteAscii(output, HeaderToken(message.MsgId, 32));
        output.Write(" "u8);
        int sdStart = output.WrittenCount;
        if (message.Elements.Count == 0)
        {
            output.Write("-"u8);
        }

        foreach (SdElement element in message.Elements)
        {
            output.Write("["u8);
            WriteAscii(output, SdName(element.Name, 31 - EnterpriseId.Length, allowAt: false));
            output.Write("@"u8);
            WriteAscii(output, EnterpriseId);
            foreach (var (name, value) in element.Params)
            {
                output.Write(" "u8);
                WriteAscii(output, SdName(name, 32, allowAt: true));
                output.Write("=\""u8);
                WriteText(output, value, rfcEscapes: true);
                output.Write("\""u8);
            }

            output.Write("]"u8);
        }

        sdBytes = output.WrittenCount - sdStart;
        if (!string.IsNullOrEmpty(message.Text))
        {
            output.Write(" "u8);
            output.Write(s_bom);
            WriteText(output, message.Text, rfcEscapes: false);
        }

        return output.WrittenSpan.ToArray();
    }

    private byte[] Shorten(SyslogMessage message, byte[] bytes, int sdBytes, int maxBytes)
    {
        var elements = message.Elements.Select(e => (e.Name, Params: e.Params.ToList())).ToList();
        string? text = message.Text;
        var cut = new List<string>();
        for (int attempt = 0; attempt < 64 && (bytes.Length > maxBytes || sdBytes > _maxStructuredDataBytes); attempt++)
        {
            // Too much STRUCTURED-DATA: only a value can help; too long overall: the MSG may be cut too.
            bool sdTooLong = sdBytes > _maxStructuredDataBytes;
            // Find the longest value (or the MSG) and cut at least the excess from it, plus room for the marker.
            int bestElement = -1, bestParam = -1, bestLength = sdTooLong ? 0 : text?.Length ?? 0;
            for (int e = 0; e < elements.Count; e++)
            {
                for (int p = 0; p < elements[e].Params.Count; p++)
                {
                    if (elements[e].Params[p].Value.Length > bestLength)
                    {
                        (bestElement, bestParam, bestLength) = (e, p, elements[e].Params[p].Value.Length);
                    }
                }
            }

            if (bestLength == 0)
            {
                break;
            }

            int excess = Math.Max(bytes.Length - maxBytes, sdBytes - _maxStructuredDataBytes) + 64 + cut.Sum(c => c.Length + 1) + 32;
            string victim = bestElement < 0 ? text! : elements[bestElement].Params[bestParam].Value;
            int keep = PrefixFitting(victim, EncodedLength(victim, bestElement >= 0) - excess, bestElement >= 0);

            string name = bestElement < 0 ? "msg" : elements[bestElement].Params[bestParam].Key;
            if (!cut.Contains(name))
            {
                cut.Add(name);
            }

            if (bestElement < 0)
            {
                text = victim[..keep];
            }
            else
            {
                elements[bestElement].Params[bestParam] = new(name, victim[..keep]);
            }

            var rebuilt = elements.Select(e => new SdElement(e.Name, e.Params)).ToList();
            if (rebuilt.Count > 0)
            {
                rebuilt[0] = rebuilt[0] with { Params = [.. rebuilt[0].Params, new(AuditKeys.Truncated, string.Join(' ', cut))] };
            }

            bytes = FormatCore(new SyslogMessage { Severity = message.Severity, Timestamp = message.Timestamp, MsgId = message.MsgId, Elements = rebuilt, Text = text }, out sdBytes);
        }

        if (bytes.Length <= maxBytes)
        {
            return bytes;
        }

        // Only the header is left to blame (absurdly small limit): cut the bytes at a UTF-8 boundary.
        int end = maxBytes;
        while (end > 0 && (bytes[end] & 0xC0) == 0x80)
        {
            end--;
        }

        return bytes[..end];
    }

    /// <summary>How many chars of <paramref name="value"/> fit in <paramref name="maxBytes"/> once encoded, never splitting a pair.</summary>
    private static int PrefixFitting(string value, int maxBytes, bool rfcEscapes)
    {
        int bytes = 0, chars = 0;
        while (chars < value.Length)
        {
            Rune.DecodeFromUtf16(value.AsSpan(chars), out Rune rune, out int consumed);
            bytes += EncodedLength(rune, rfcEscapes);
            if (bytes > maxBytes)
            {
                break;
            }

            chars += consumed;
        }

        return chars;
    }

    private static int EncodedLength(string value, bool rfcEscapes)
    {
        int bytes = 0;
        ReadOnlySpan<char> rest = value;
        while (!rest.IsEmpty)
        {
            Rune.DecodeFromUtf16(rest, out Rune rune, out int consumed);
            rest = rest[consumed..];
            bytes += EncodedLength(rune, rfcEscapes);
        }

        return bytes;
    }

    private static int EncodedLength(Rune rune, bool rfcEscapes) => rune.Value switch
    {
        < 0x20 or 0x7F or (>= 0x80 and <= 0x9F) => 4,
        '"' or '\\' or ']' when rfcEscapes => 2,
        _ => rune.Utf8SequenceLength,
    };

    private static void WriteText(ArrayBufferWriter<byte> output, string value, bool rfcEscapes)
    {
        ReadOnlySpan<char> rest = value;
        Span<byte> utf8 = stackalloc byte[4];
        while (!rest.IsEmpty)
        {
            // Invalid input (a lone surrogate) decodes as U+FFFD.
            Rune.DecodeFromUtf16(rest, out Rune rune, out int consumed);
            rest = rest[consumed..];
            int v = rune.Value;
            if (v < 0x20 || v == 0x7F || (v >= 0x80 && v <= 0x9F))
            {
                Span<byte> escaped = output.GetSpan(4);
                escaped[0] = (byte)'\\';
                escaped[1] = (byte)'x';
                escaped[2] = (byte)"0123456789abcdef"[v >> 4];
                escaped[3] = (byte)"0123456789abcdef"[v & 0xF];
                output.Advance(4);
                continue;
            }

            if (rfcEscapes && v is '"' or '\\' or ']')
            {
                Span<byte> escaped = output.GetSpan(2);
                escaped[0] = (byte)'\\';
                escaped[1] = (byte)v;
                output.Advance(2);
                continue;
            }

            int n = rune.EncodeToUtf8(utf8);
            output.Write(utf8[..n]);
        }
    }

    private static void WriteAscii(ArrayBufferWriter<byte> output, string ascii)
    {
        int n = Encoding.ASCII.GetBytes(ascii, output.GetSpan(ascii.Length));
        output.Advance(n);
    }

    /// <summary>Printable US-ASCII (33–126), at most <paramref name="maxLength"/>, NILVALUE when empty.</summary>
    internal static string HeaderToken(string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "-";
        }

        if (value.Length <= maxLength && !value.AsSpan().ContainsAnyExceptInRange('!', '~'))
        {
            return value;
        }

        var chars = value.Length <= maxLength ? value.ToCharArray() : value.AsSpan(0, maxLength).ToArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (chars[i] < 33 || chars[i] > 126)
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }

    /// <summary>SD-NAME (§6.3.2/6.3.3): 1–32 printable US-ASCII, none of <c>= ] " space</c> (and no <c>@</c> in an SD-ID name).</summary>
    internal static string SdName(string? value, int maxLength, bool allowAt)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "_";
        }

        if (value.Length <= maxLength && !value.AsSpan().ContainsAnyExceptInRange('!', '~') && value.AsSpan().IndexOfAny(allowAt ? "=]\"" : "=]\"@") < 0)
        {
            return value;
        }

        var chars = value.Length <= maxLength ? value.ToCharArray() : value.AsSpan(0, maxLength).ToArray();
        for (int i = 0; i < chars.Length; i++)
        {
            char c = chars[i];
            if (c < 33 || c > 126 || c is '=' or ']' or '"' || (!allowAt && c == '@'))
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }
}
