namespace KvmUdevAgent.Core.Qemu;

/// <summary>QMP error classes (qapi/error.json), verbatim.</summary>
internal static class QmpErrorClasses
{
    public const string GenericError = "GenericError";
    public const string CommandNotFound = "CommandNotFound";
    public const string DeviceNotActive = "DeviceNotActive";
    public const string DeviceNotFound = "DeviceNotFound";
    public const string KvmMissingCap = "KVMMissingCap";
}
