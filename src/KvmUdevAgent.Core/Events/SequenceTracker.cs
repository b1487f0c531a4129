namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Follows the kernel's SEQNUM and says how many numbers were skipped. Events without a SEQNUM (0)
/// are ignored; a number at or below the highest seen (never sent by the kernel) neither counts as
/// a gap nor moves the mark back. Not thread-safe: one receive loop owns it.
/// </summary>
internal sealed class SequenceTracker
{
    public ulong Last { get; private set; }

    /// <summary>Records <paramref name="seqNum"/>; returns how many numbers between the previous one and it were not seen.</summary>
    public ulong Observe(ulong seqNum)
    {
        if (seqNum == 0 || seqNum <= Last)
        {
            return 0;
        }

        ulong missing = Last == 0 ? 0 : seqNum - Last - 1;
        Last = seqNum;
        return missing;
    }
}
