using System.Text.Json;

namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>One message as rsyslogd parsed and wrote it (JSON line of the test template).</summary>
public sealed record ReceivedSyslogMessage(string Pri, string Timestamp, string Hostname, string AppName, string ProcId, string MsgId, string StructuredData, string Msg, string Raw, string Input)
{
    /// <summary>MSG without the UTF-8 BOM that RFC 5424 puts in front of it.</summary>
    public string Text => Msg.StartsWith('\uFEFF') ? Msg[1..] : Msg;

    /// <summary>The SD elements, unescaped.</summary>
    public IReadOnlyList<ParsedSdElement> Elements => Rfc5424SdParser.Parse(StructuredData);

    /// <summary>The element whose SD-ID is <paramref name="id"/>; throws when absent.</summary>
    public ParsedSdElement Element(string id) =>
        Elements.FirstOrDefault(e => e.Id == id) ?? throw new KeyNotFoundException($"no SD element {id} in {StructuredData}");

    public static ReceivedSyslogMessage Parse(string jsonLine)
    {
        using var doc = JsonDocument.Parse(jsonLine);
        string Get(string name) => doc.RootElement.TryGetProperty(name, out JsonElement e) ? e.GetString() ?? "" : "";
        return new(Get("pri"), Get("timestamp"), Get("hostname"), Get("app"), Get("procid"), Get("msgid"), Get("sd"), Get("msg"), Get("raw"), Get("input"));
    }
}
