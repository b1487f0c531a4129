using System.Text;
using KvmUdevAgent.Core.Audit;

namespace KvmUdevAgent.Core.Tests.Audit;

public sealed class Rfc5424FormatterTests
{
    private static readonly DateTimeOffset s_time = new(2026, 11, 26, 6, 20, 15, 123, TimeSpan.Zero);

    private static string Format(SyslogMessage message, Rfc5424Formatter? formatter = null, int max = int.MaxValue) =>
        Encoding.UTF8.GetString((formatter ?? new Rfc5424Formatter(SyslogFacility.Daemon, "kvm-udev-agent", "host1", "42")).Format(message, max));

    private static SyslogMessage Message(string value, string? text = "hello") => new()
    {
        Severity = SyslogSeverity.Informational,
        Timestamp = s_time,
        MsgId = "device.attach",
        Elements = [new SdElement("kua", [new("serial", value)])],
        Text = text,
    };

    [Fact]
    public void Format_SimpleMessage_WritesHeaderSdAndBomMessage()
    {
        string line = Format(Message("576B63C4"));
        Assert.Equal("<30>1 2026-11-26T06:20:15.123000Z host1 kvm-udev-agent 42 device.attach [kua@32473 serial=\"576B63C4\"] \uFEFFhello", line);
    }

    [Theory]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("c:\\x", "c:\\\\x")]
    [InlineData("x]y", "x\\]y")]
    [InlineData("[kua@1 a=\"b\"]", "[kua@1 a=\\\"b\\\"\\]")]
    [InlineData("l1\nl2", "l1\\x0al2")]
    [InlineData("nul\0", "nul\\x00")]
    [InlineData("esc\u001b[31m", "esc\\x1b[31m")]
    [InlineData("del\u007f c1\u0085", "del\\x7f c1\\x85")]
    [InlineData("Grüße 日本 😀", "Grüße 日本 😀")]
    public void Format_HostileValue_IsEscaped(string value, string expected)
    {
        string line = Format(Message(value));
        Assert.Contains($"serial=\"{expected}\"]", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_LoneSurrogate_BecomesReplacementCharacter()
    {
        string line = Format(Message("a\uD800b"));
        Assert.Contains("serial=\"a\uFFFDb\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_EscapedValue_RoundTripsThroughTestParser()
    {
        string hostile = "q\"b\\c]d\n\r\t\0\u001b\u007f\u0085 \\x0a #012 é 😀";
        string line = Format(Message(hostile));
        int sdStart = line.IndexOf('[', StringComparison.Ordinal);
        int sdEnd = line.IndexOf(" \uFEFF", StringComparison.Ordinal);
        var elements = Rfc5424SdParser.Parse(line[sdStart..sdEnd]);
        Assert.Equal(hostile, elements.Single()["serial"]);
    }

    [Fact]
    public void Format_EmptyFields_WriteNilValue()
    {
        var formatter = new Rfc5424Formatter(SyslogFacility.Local3, "", "", "");
        string line = Format(new SyslogMessage { Severity = SyslogSeverity.Error, Timestamp = s_time }, formatter);
        Assert.Equal("<155>1 2026-11-26T06:20:15.123000Z - - - - -", line);
    }

    [Fact]
    public void Format_LongOrNonAsciiHeaderFields_AreCutAndReplaced()
    {
        var formatter = new Rfc5424Formatter(SyslogFacility.Daemon, new string('a', 60), "h ö", "1");
        string line = Format(new SyslogMessage { Severity = SyslogSeverity.Debug, Timestamp = s_time, MsgId = "x y" + new string('m', 40) }, formatter);
        string[] parts = line.Split(' ');
        Assert.Equal("h__", parts[2]);
        Assert.Equal(new string('a', 48), parts[3]);
        Assert.Equal(32, parts[5].Length);
        Assert.StartsWith("x_y", parts[5], StringComparison.Ordinal);
    }

    [Fact]
    public void Format_BadParamName_IsSanitisedAndCut()
    {
        var message = new SyslogMessage
        {
            Severity = SyslogSeverity.Notice,
            Timestamp = s_time,
            Elements = [new SdElement("a@b c", [new("na=me]\" é" + new string('z', 40), "v")])],
        };
        string line = Format(message);
        Assert.Contains("[a_b_c@32473 na_me____" + new string('z', 23) + "=\"v\"]", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ConfiguredEnterpriseId_IsUsedInSdId()
    {
        var formatter = new Rfc5424Formatter(SyslogFacility.Daemon, "app", "h", "1", "12345.6");
        Assert.Contains("[kua@12345.6 ", Format(Message("x"), formatter), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("1..2")]
    [InlineData(".1")]
    public void Constructor_InvalidEnterpriseId_Throws(string id)
    {
        Assert.Throws<ArgumentException>(() => new Rfc5424Formatter(SyslogFacility.Daemon, "a", enterpriseId: id));
    }

    [Fact]
    public void Format_ControlCharacterInMessage_IsEscapedAndBackslashKept()
    {
        string line = Format(Message("x", "two\nlines \\ ok"));
        Assert.EndsWith("\uFEFFtwo\\x0alines \\ ok", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_TooLong_CutsLongestValueAndMarksIt()
    {
        var message = new SyslogMessage
        {
            Severity = SyslogSeverity.Informational,
            Timestamp = s_time,
            Elements = [new SdElement("kua", [new("serial", "S1"), new("stdout", new string('é', 5000))])],
            Text = "short",
        };
        byte[] bytes = new Rfc5424Formatter(SyslogFacility.Daemon, "a", "h", "1").Format(message, 2000);
        Assert.InRange(bytes.Length, 1500, 2000);
        string line = Encoding.UTF8.GetString(bytes);
        var element = Rfc5424SdParser.Parse(line[line.IndexOf('[', StringComparison.Ordinal)..line.IndexOf(" \uFEFF", StringComparison.Ordinal)]).Single();
        Assert.Equal("S1", element["serial"]);
        Assert.Equal("stdout", element[AuditKeys.Truncated]);
        Assert.StartsWith("éé", element["stdout"], StringComparison.Ordinal);
        Assert.EndsWith("\uFEFFshort", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_Pri_CombinesFacilityAndSeverity()
    {
        var formatter = new Rfc5424Formatter(SyslogFacility.Local7, "a", "h", "1");
        Assert.StartsWith("<191>1 ", Format(new SyslogMessage { Severity = SyslogSeverity.Debug, Timestamp = s_time }, formatter), StringComparison.Ordinal);
    }

    [Fact]
    public void Format_StructuredDataOver64KiB_IsShortenedEvenWhenTheMessageFits()
    {
        var message = new SyslogMessage
        {
            Severity = SyslogSeverity.Informational,
            Timestamp = s_time,
            Elements = [new SdElement("kua", [new("stdout", new string('x', 70_000))])],
            Text = new string('m', 1000),
        };
        string line = Encoding.UTF8.GetString(new Rfc5424Formatter(SyslogFacility.Daemon, "a", "h", "1").Format(message, 1_000_000));
        int sdStart = line.IndexOf('[', StringComparison.Ordinal);
        int sdEnd = line.IndexOf(" \uFEFF", StringComparison.Ordinal);
        Assert.InRange(sdEnd - sdStart, 60_000, Rfc5424Formatter.DefaultMaxStructuredDataBytes);
        Assert.Equal("stdout", Rfc5424SdParser.Parse(line[sdStart..sdEnd]).Single()[AuditKeys.Truncated]);
        Assert.EndsWith(new string('m', 1000), line, StringComparison.Ordinal);
    }
}
