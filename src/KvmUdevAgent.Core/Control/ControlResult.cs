using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KvmUdevAgent.Core.Control;

/// <summary>What a handler answers: a JSON result, or an error.</summary>
public sealed class ControlResult
{
    private static readonly JsonElement s_emptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    private ControlResult(JsonElement result, ControlError? error)
    {
        Result = result;
        Error = error;
    }

    /// <summary>True for a success.</summary>
    public bool Ok => Error is null;

    /// <summary>The <c>result</c> value of a success (an empty object when there is nothing to say).</summary>
    public JsonElement Result { get; }

    /// <summary>The error of a failure; null for a success.</summary>
    public ControlError? Error { get; }

    /// <summary>A success with an empty object as result.</summary>
    public static ControlResult Empty { get; } = new(s_emptyObject, null);

    /// <summary>A success with <paramref name="result"/> as result.</summary>
    public static ControlResult Success(JsonElement result) =>
        new(result.ValueKind == JsonValueKind.Undefined ? s_emptyObject : result, null);

    /// <summary>A success whose result is <paramref name="value"/>, serialised with a source-generated <paramref name="typeInfo"/> (NativeAOT-safe).</summary>
    public static ControlResult Success<T>(T value, JsonTypeInfo<T> typeInfo) =>
        new(JsonSerializer.SerializeToElement(value, typeInfo), null);

    /// <summary>A failure with <paramref name="code"/> (one of <see cref="ControlErrorCodes"/>) and a message for a person.</summary>
    public static ControlResult Failure(string code, string message) =>
        new(default, new ControlError(code, message));
}
