namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>
/// A SCSI disk as the guest's kernel sees it (/sys/block/NAME): removable and read-only flags,
/// size in 512-byte sectors, and, when it holds ext4, its label and the text of its file <c>nonce</c>.
/// </summary>
internal sealed record GuestDisk(string Name, bool Removable, bool ReadOnly, long Sectors)
{
    public string? Label { get; init; }

    public string? Nonce { get; init; }
}
