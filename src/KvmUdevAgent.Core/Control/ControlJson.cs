using System.Text.Json.Serialization.Metadata;

namespace KvmUdevAgent.Core.Control;

/// <summary>Source-generated (NativeAOT-safe) JSON metadata of the protocol's result types, for <see cref="ControlResult.Success{T}"/> and for the CLI to read results.</summary>
public static class ControlJson
{
    /// <summary>The <c>status</c> result.</summary>
    public static JsonTypeInfo<StatusReport> StatusReport => ControlJsonContext.Default.StatusReport;

    /// <summary>The <c>reload</c> result.</summary>
    public static JsonTypeInfo<ReloadReport> ReloadReport => ControlJsonContext.Default.ReloadReport;
}
