namespace KvmUdevAgent.Core.Devices;

/// <summary>What <c>blkid -p</c> found on a block device. Strings are raw device data (decoded from blkid's <c>\xNN</c>).</summary>
internal sealed record BlkidResult(BlkidStatus Status, string? Label = null, string? Uuid = null, string? Type = null, string? Error = null)
{
    public static readonly BlkidResult NothingFound = new(BlkidStatus.NothingFound);
}
