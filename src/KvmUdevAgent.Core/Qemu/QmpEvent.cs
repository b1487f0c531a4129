using System.Text.Json;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>An asynchronous QMP event (<c>DEVICE_DELETED</c>, <c>SHUTDOWN</c>, ...). <see cref="Data"/> is detached from the read buffer.</summary>
internal sealed record QmpEvent(string Name, JsonElement Data)
{
    /// <summary>The <c>device</c> member of the event data (the id, for <c>DEVICE_DELETED</c>), if any.</summary>
    public string? Device =>
        Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty("device", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
}
