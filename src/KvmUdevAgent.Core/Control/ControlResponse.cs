using System.Text.Json;

namespace KvmUdevAgent.Core.Control;

/// <summary>An answer as the client reads it.</summary>
public sealed record ControlResponse
{
    /// <summary>The echoed request id.</summary>
    public required JsonElement Id { get; init; }

    /// <summary>The result of a success (an empty object if the server sent none); an empty object for a failure.</summary>
    public required JsonElement Result { get; init; }

    /// <summary>The error of a failure; null for a success.</summary>
    public ControlError? Error { get; init; }

    /// <summary>True for a success.</summary>
    public bool Ok => Error is null;
}
