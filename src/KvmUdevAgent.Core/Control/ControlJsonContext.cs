using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Control;

/// <summary>Source-generated (NativeAOT-safe) serialisation of the protocol's result types, snake_case on the wire.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(ReloadReport))]
internal sealed partial class ControlJsonContext : JsonSerializerContext
{
}
