using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.State;

/// <summary>Source-generated (NativeAOT-safe) serialisation of the state file.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    Converters = [typeof(UsbIdJsonConverter)])]
[JsonSerializable(typeof(AgentState))]
internal sealed partial class StateJsonContext : JsonSerializerContext
{
}
