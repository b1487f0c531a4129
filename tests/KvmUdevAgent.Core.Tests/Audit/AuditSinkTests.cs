using System.Net.Sockets;
using System.Text;
using KvmUdevAgent.Core.Audit;

namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>Audit records through a real rsyslogd (one per class): what arrives is what the auditor reads.</summary>
public sealed class AuditSinkTests(RsyslogFixture fixture) : IClassFixture<RsyslogFixture>
{
    private readonly RsyslogServer _rsyslog = fixture.Server;

    private string Target(string transport) => transport switch
    {
        "unix" => _rsyslog.UnixTarget,
        "udp" => _rsyslog.UdpTarget,
        _ => _rsyslog.TcpTarget,
    };

    [Theory]
    [InlineData("unix")]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Write_HostileValues_EveryFieldArrivesIntact(string transport)
    {
        string token = Guid.NewGuid().ToString("N");
        AuditRecord record;
        await using (AuditSink sink = AuditTestSupport.Sink(Target(transport)))
        {
            using (record = new AuditRecord(sink, AuditTypes.DeviceAttach))
            {
                record.Seq = 18446744073709551615;
                record.Event = "add";
                record.DevPath = "/devices/Grüße/日本/😀/" + token;
                record.Subsystem = "usb\\";
                record.Vendor = "\u001b[31mred\u007f\u0085";
                record.Product = "#012 literal and \\x0a literal";
                record.Serial = "q\"uote\\back]bracket[x@1 a=\"b\"]";
                record.Label = "line1\nline2\r\n\ttab\0nul";
                record.Rule = token + " rule ] \"x\"";
                record.Action = "attach";
                record.Target = "vm'; rm -rf / #";
                record.Set("stdout", "out]\"\\\n\0é 😀");
                record.Set("exit_status", 3);
                record.Fail("error \"]\\\n with newline");
            }

            Assert.True(await sink.FlushAsync(AuditTestSupport.Timeout));
            Assert.Equal(0, sink.Status.Dropped);
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.Equal(((20 * 8) + 3).ToString(System.Globalization.CultureInfo.InvariantCulture), m.Pri);
        Assert.Equal(("kua-test", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), "device.attach"), (m.AppName, m.ProcId, m.MsgId));
        Assert.Equal(record.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture), m.Timestamp);

        ParsedSdElement sd = m.Element("kua@32473");
        Assert.Equal(AuditKeys.All, sd.Params.Select(p => p.Key));
        Assert.Equal("1", sd["v"]);
        Assert.Equal("device.attach", sd["type"]);
        Assert.Equal("18446744073709551615", sd["seq"]);
        Assert.Equal(record.Event, sd["event"]);
        Assert.Equal(record.DevPath, sd["devpath"]);
        Assert.Equal(record.Subsystem, sd["subsystem"]);
        Assert.Equal(record.Vendor, sd["vendor"]);
        Assert.Equal(record.Product, sd["product"]);
        Assert.Equal(record.Serial, sd["serial"]);
        Assert.Equal(record.Label, sd["label"]);
        Assert.Equal(record.Rule, sd["rule"]);
        Assert.Equal(record.Action, sd["action"]);
        Assert.Equal(record.Target, sd["target"]);
        Assert.Equal("failure", sd["outcome"]);
        Assert.Equal("error \"]\\\n with newline", sd["error"]);
        Assert.Equal(record.LatencyMs!.Value.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), sd["latency_ms"]);

        ParsedSdElement extra = m.Element("kua.x@32473");
        Assert.Equal("out]\"\\\n\0é 😀", extra["stdout"]);
        Assert.Equal("3", extra["exit_status"]);

        Assert.StartsWith("\uFEFF", m.Msg, StringComparison.Ordinal);
        Assert.Equal(AuditTestSupport.EscapeControls(record.FormatMessage()), m.Text);
    }

    /// <summary>A large value (60 KiB, hostile characters throughout) arrives whole; the test rsyslogd's maxMessageSize is 256k.</summary>
    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task Write_60KiBValue_ArrivesIntact(string transport)
    {
        string token = Guid.NewGuid().ToString("N");
        string big = string.Concat(Enumerable.Range(0, 61440 / 16).Select(i => i % 64 == 0 ? "\"]\\\n\u00e9-hostile-0123456789abcd" : "0123456789abcdef0123456789abcdef"))[..61440];
        await using (AuditSink sink = AuditTestSupport.Sink(Target(transport)))
        {
            using var record = new AuditRecord(sink, AuditTypes.DeviceHook) { Rule = token };
            record.Set("stdout", big);
            record.Succeed();
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.Equal(big, m.Element("kua.x@32473")["stdout"]);
        Assert.False(m.Element("kua@32473").Has(AuditKeys.Truncated));
    }

    /// <summary>
    /// A 64 KiB value cannot arrive whole through rsyslog: its structured-data length is 16 bits, and
    /// a UDP datagram holds 65,507 bytes. It is cut to fit, marked, and everything else is intact.
    /// </summary>
    [Theory]
    [InlineData("unix")]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Write_64KiBValue_IsShortenedToFitAndMarked(string transport)
    {
        string token = Guid.NewGuid().ToString("N");
        string big = string.Concat(Enumerable.Repeat("0123456789abcde\"", 4096));
        await using (AuditSink sink = AuditTestSupport.Sink(Target(transport)))
        {
            using var record = new AuditRecord(sink, AuditTypes.DeviceHook) { Rule = token, Serial = "S\"]" };
            record.Set("stdout", big);
            record.Set("after", "kept");
            record.Succeed();
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.InRange(Encoding.UTF8.GetByteCount(m.StructuredData), 60_000, 65_535);
        Assert.InRange(Encoding.UTF8.GetByteCount(m.Raw), 60_000, transport == "udp" ? UdpSyslogTransport.MaxUdpPayload : 70_000);
        string received = m.Element("kua.x@32473")["stdout"];
        Assert.StartsWith(received, big, StringComparison.Ordinal);
        Assert.InRange(received.Length, 50_000, big.Length - 1);
        Assert.Equal("kept", m.Element("kua.x@32473")["after"]);
        Assert.Equal("stdout", m.Element("kua@32473")[AuditKeys.Truncated]);
        Assert.Equal((token, "S\"]"), (m.Element("kua@32473")["rule"], m.Element("kua@32473")["serial"]));
    }

    [Fact]
    public async Task Write_InvalidUtf8FromDevice_ArrivesAsReplacementCharacter()
    {
        string token = Guid.NewGuid().ToString("N");
        byte[] raw = [0x41, 0xFF, 0xC3, 0x28, 0x42, 0xED, 0xA0, 0x80];
        await using (AuditSink sink = AuditTestSupport.Sink(_rsyslog.UnixTarget))
        {
            using var record = new AuditRecord(sink, AuditTypes.EventRouted) { Rule = token, Serial = Encoding.UTF8.GetString(raw) };
            record.Set("model", raw);
            record.Succeed();
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.Equal("A\uFFFD\uFFFD(B\uFFFD\uFFFD\uFFFD", m.Element("kua@32473")["serial"]);
        Assert.Equal("A\uFFFD\uFFFD(B\uFFFD\uFFFD\uFFFD", m.Element("kua.x@32473")["model"]);
    }

    [Fact]
    public async Task Write_RecordNeverFinished_ArrivesAsFailureNotCompleted()
    {
        string token = Guid.NewGuid().ToString("N");
        await using (AuditSink sink = AuditTestSupport.Sink(_rsyslog.UnixTarget))
        {
            using var record = new AuditRecord(sink, AuditTypes.DeviceMount) { Rule = token, Action = "mount", Target = "/media/kvm-udev-agent/STICK" };
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.Equal(("failure", "not completed"), (m.Element("kua@32473")["outcome"], m.Element("kua@32473")["error"]));
        Assert.Equal(((20 * 8) + 3).ToString(System.Globalization.CultureInfo.InvariantCulture), m.Pri);
        Assert.StartsWith("mount to /media/kvm-udev-agent/STICK (rule " + token + "): failure (not completed) in ", m.Text, StringComparison.Ordinal);
    }

    /// <summary>
    /// Pins what rsyslog does with raw control characters (its default
    /// <c>parser.escapeControlCharactersOnReceive="on"</c>): it rewrites C0 controls as <c>#ooo</c> octal,
    /// which a value could also contain literally (DEL and C1 pass through raw; its <c>jsonf</c> output then
    /// drops DEL). That is why the formatter writes them all as <c>\xHH</c>.
    /// </summary>
    [Fact]
    public async Task Rsyslog_RawControlCharacters_AreRewrittenAsOctal()
    {
        string token = Guid.NewGuid().ToString("N");
        byte[] raw = Encoding.UTF8.GetBytes($"<14>1 2026-01-01T00:00:00Z h app - - [x@32473 t=\"{token}\" v=\"a\nb\tc\0d\u001be\"] \uFEFFm\nn");
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
        {
            await socket.SendToAsync(raw, SocketFlags.None, new UnixDomainSocketEndPoint(_rsyslog.SocketPath));
        }

        ReceivedSyslogMessage m = await _rsyslog.WaitForTokenAsync(token, AuditTestSupport.Timeout);
        Assert.Equal("a#012b#011c#000d#033e", m.Element("x@32473")["v"]);
        Assert.Equal("m#012n", m.Text);
    }
}
