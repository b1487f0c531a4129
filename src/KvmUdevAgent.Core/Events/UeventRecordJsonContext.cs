using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Events;

/// <summary>Source-generated (AOT-safe) JSON for record files.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UeventRecordLine))]
internal sealed partial class UeventRecordJsonContext : JsonSerializerContext
{
}
