using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KvmUdevAgent.Core.Control;

/// <summary>
/// The wire format: one JSON object per line, UTF-8, <c>\n</c>-terminated. Request
/// <c>{"id":1,"verb":"status","args":{}}</c>; response <c>{"id":1,"ok":true,"result":{…}}</c> or
/// <c>{"id":1,"ok":false,"error":{"code":"…","message":"…"}}</c>. The id is echoed verbatim
/// (number or string; null when the request had none or could not be read).
/// </summary>
internal static class ControlWire
{
    private static readonly JsonElement s_emptyObject = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly JsonElement s_null = JsonDocument.Parse("null").RootElement.Clone();
    // Relaxed escaping keeps messages readable on the wire ("'attach' requires root", not
    // "\u0027attach\u0027"); HTML-safety is irrelevant on a unix socket. Control characters and
    // quotes are still escaped, so a device string cannot break the line framing.
    private static readonly JsonWriterOptions s_writerOptions = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Parses a request line. On failure <paramref name="id"/> still carries the id if it could be read.</summary>
    public static bool TryParseRequest(ReadOnlySpan<byte> line, out JsonElement id, out string verb, out JsonElement args, out string reason)
    {
        id = s_null;
        verb = string.Empty;
        args = s_emptyObject;
        JsonDocument document;
        try
        {
            Utf8JsonReader probe = new(line, new JsonReaderOptions { MaxDepth = 32 });
            document = JsonDocument.ParseValue(ref probe);
            // Anything but whitespace after the object makes Read() throw: one value per line.
            while (probe.Read())
            {
            }
        }
        catch (JsonException ex)
        {
            reason = "malformed JSON: " + ex.Message.ReplaceLineEndings(" ");
            return false;
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                reason = "the request must be a JSON object";
                return false;
            }

            if (root.TryGetProperty("id"u8, out JsonElement idElement))
            {
                if (idElement.ValueKind is not (JsonValueKind.Number or JsonValueKind.String or JsonValueKind.Null))
                {
                    reason = "'id' must be a number or a string";
                    return false;
                }

                id = idElement.Clone();
            }

            if (!root.TryGetProperty("verb"u8, out JsonElement verbElement) || verbElement.ValueKind != JsonValueKind.String)
            {
                reason = "'verb' must be a string";
                return false;
            }

            verb = verbElement.GetString()!;
            if (root.TryGetProperty("args"u8, out JsonElement argsElement) && argsElement.ValueKind != JsonValueKind.Null)
            {
                if (argsElement.ValueKind != JsonValueKind.Object)
                {
                    reason = "'args' must be an object";
                    return false;
                }

                args = argsElement.Clone();
            }
        }

        reason = string.Empty;
        return true;
    }

    /// <summary>Writes one response line, newline included.</summary>
    public static void WriteResponse(IBufferWriter<byte> output, JsonElement id, ControlResult result)
    {
        using (Utf8JsonWriter writer = new(output, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("id"u8);
            id.WriteTo(writer);
            writer.WriteBoolean("ok"u8, result.Ok);
            if (result.Error is { } error)
            {
                writer.WriteStartObject("error"u8);
                writer.WriteString("code"u8, error.Code);
                writer.WriteString("message"u8, error.Message);
                writer.WriteEndObject();
            }
            else
            {
                writer.WritePropertyName("result"u8);
                result.Result.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        output.Write("\n"u8);
    }

    /// <summary>Writes one progress line of a long request, <c>{"id":…,"progress":{…}}</c>, newline included.</summary>
    public static void WriteProgress(IBufferWriter<byte> output, JsonElement id, JsonElement progress)
    {
        using (Utf8JsonWriter writer = new(output, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("id"u8);
            id.WriteTo(writer);
            writer.WritePropertyName("progress"u8);
            progress.WriteTo(writer);
            writer.WriteEndObject();
        }

        output.Write("\n"u8);
    }

    /// <summary>True when <paramref name="line"/> is a progress line (no <c>ok</c>, a <c>progress</c> member), with its value.</summary>
    public static bool TryParseProgress(ReadOnlySpan<byte> line, out JsonElement progress)
    {
        progress = default;
        try
        {
            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && !root.TryGetProperty("ok"u8, out _) && root.TryGetProperty("progress"u8, out JsonElement value))
            {
                progress = value.Clone();
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    /// <summary>Writes one request line, newline included.</summary>
    public static void WriteRequest(IBufferWriter<byte> output, long id, string verb, JsonObject? args)
    {
        using (Utf8JsonWriter writer = new(output, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("id"u8, id);
            writer.WriteString("verb"u8, verb);
            writer.WritePropertyName("args"u8);
            if (args is null)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                args.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        output.Write("\n"u8);
    }

    /// <summary>Parses a response line.</summary>
    public static bool TryParseResponse(ReadOnlySpan<byte> line, out ControlResponse response, out string reason)
    {
        response = null!;
        try
        {
            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("ok"u8, out JsonElement ok)
                || ok.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                reason = "the answer is not an object with a boolean 'ok'";
                return false;
            }

            JsonElement id = root.TryGetProperty("id"u8, out JsonElement idElement) ? idElement.Clone() : s_null;
            if (ok.GetBoolean())
            {
                JsonElement result = root.TryGetProperty("result"u8, out JsonElement r) ? r.Clone() : s_emptyObject;
                response = new ControlResponse { Id = id, Result = result };
                reason = string.Empty;
                return true;
            }

            if (!root.TryGetProperty("error"u8, out JsonElement error)
                || error.ValueKind != JsonValueKind.Object
                || !error.TryGetProperty("code"u8, out JsonElement code) || code.ValueKind != JsonValueKind.String
                || !error.TryGetProperty("message"u8, out JsonElement message) || message.ValueKind != JsonValueKind.String)
            {
                reason = "a failed answer without 'error.code' and 'error.message'";
                return false;
            }

            response = new ControlResponse { Id = id, Result = s_emptyObject, Error = new ControlError(code.GetString()!, message.GetString()!) };
            reason = string.Empty;
            return true;
        }
        catch (JsonException ex)
        {
            reason = "malformed JSON: " + ex.Message.ReplaceLineEndings(" ");
            return false;
        }
    }
}
