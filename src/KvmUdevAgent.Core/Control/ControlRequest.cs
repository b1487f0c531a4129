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
}
