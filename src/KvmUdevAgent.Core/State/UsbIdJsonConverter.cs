using System.Text.Json;
using System.Text.Json.Serialization;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.State;

/// <summary>Writes a <see cref="UsbId"/> as its four hex digits, as sysfs prints it, and reads only that.</summary>
internal sealed class UsbIdJsonConverter : JsonConverter<UsbId>
{
    public override UsbId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("expected a USB id as a string of 4 hex digits");
        }

        string text = reader.GetString()!;
        if (!UsbId.TryParse(text, out UsbId id, out string? reason))
        {
            throw new JsonException($"invalid USB id: {reason}");
        }

        return id;
    }

    public override void Write(Utf8JsonWriter writer, UsbId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
