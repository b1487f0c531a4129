using System.Text.Json;
using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>QEMU's answer to a command typed by the administrator (<c>kvm-udev-agent monitor-command</c>).</summary>
public sealed record MonitorCommandAnswer
{
    /// <summary>The VM's name.</summary>
    public required string Vm { get; init; }

    /// <summary><c>qmp</c> or <c>hmp</c>: the protocol the command was sent in (an <c>--hmp</c> command on a QMP monitor is <c>hmp</c>).</summary>
    public required string Protocol { get; init; }

    /// <summary>The text an HMP command printed; null for a QMP command.</summary>
    public string? Output { get; init; }

    /// <summary>The <c>return</c> value of a QMP command; absent for an HMP command.</summary>
    [JsonPropertyName("return")]
    public JsonElement? Return { get; init; }
}
