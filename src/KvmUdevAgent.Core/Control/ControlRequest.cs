using System.Text.Json;

namespace KvmUdevAgent.Core.Control;

/// <summary>One request, already parsed and authorised: the handler only sees verbs the peer may use.</summary>
public sealed record ControlRequest
{
    /// <summary>The verb, one of <see cref="ControlVerbs"/>.</summary>
    public required string Verb { get; init; }

    /// <summary>The <c>args</c> object; an empty object when the request had none. Validate every member: the peer may be any group member.</summary>
    public required JsonElement Args { get; init; }

    /// <summary>Who asked.</summary>
    public required ControlPeer Peer { get; init; }

    /// <summary>
    /// Sends a progress line (<c>{"id":…,"progress":{…}}</c>) to the client before the answer, for a
    /// long verb (<c>migrate</c>). Throws <see cref="IOException"/> when the client has gone; null
    /// where the caller cannot take progress.
    /// </summary>
    public Func<JsonElement, CancellationToken, ValueTask>? Progress { get; init; }
}
