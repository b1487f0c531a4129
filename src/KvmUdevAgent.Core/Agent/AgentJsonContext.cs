using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Agent;

/// <summary>Source-generated JSON for the daemon's control answers (NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
[JsonSerializable(typeof(DevicesReport))]
[JsonSerializable(typeof(ManualActionReport))]
public sealed partial class AgentJsonContext : JsonSerializerContext
{
}
