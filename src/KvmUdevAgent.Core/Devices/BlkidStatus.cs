namespace KvmUdevAgent.Core.Devices;

/// <summary>Outcome of a blkid probe.</summary>
internal enum BlkidStatus
{
    Unknown = 0,
    /// <summary>A filesystem (or other known content) was identified.</summary>
    Found,
    /// <summary>blkid ran and found nothing it knows (exit status 2).</summary>
    NothingFound,
    /// <summary>blkid could not run, failed, timed out or the node was refused.</summary>
    Failed,
}
