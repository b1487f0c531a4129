using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Agent;

/// <summary>Source-generated JSON for the daemon's control answers (NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
[JsonSerializable(typeof(DevicesReport))]
[JsonSerializable(typeof(ManualActionReport))]
[JsonSerializable(typeof(MigrationReport))]
[JsonSerializable(typeof(KvmUdevAgent.Core.Qemu.MigrationProgress))]
public sealed partial class AgentJsonContext : JsonSerializerContext
{
}
