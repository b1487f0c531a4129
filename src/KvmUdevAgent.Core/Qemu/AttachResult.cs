namespace KvmUdevAgent.Core.Qemu;

internal enum AttachResult
{
    Unknown = 0,
    Attached,
    /// <summary>A device with the same agent id was already there; nothing was sent.</summary>
    AlreadyPresent,
}
