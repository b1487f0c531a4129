using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Events;

/// <summary>One property of a <see cref="UeventRecordLine"/>: exactly one of each pair is set.</summary>
internal sealed class UeventRecordProperty
{
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("key_base64")]
    public byte[]? KeyBase64 { get; set; }

    [JsonPropertyName("value")]
    public string? Value { get; set; }

    [JsonPropertyName("value_base64")]
    public byte[]? ValueBase64 { get; set; }
}
