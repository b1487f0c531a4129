using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>Source-generated (NativeAOT-safe) JSON for the Qemu feature's CLI output.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VmStatus[]))]
[JsonSerializable(typeof(MonitorCommandAnswer))]
internal sealed partial class QemuJsonContext : JsonSerializerContext
{
}
