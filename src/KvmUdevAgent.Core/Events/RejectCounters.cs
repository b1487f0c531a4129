namespace KvmUdevAgent.Core.Events;

/// <summary>One counter per <see cref="RejectReason"/>; safe to increment and read from any thread.</summary>
public sealed class RejectCounters
{
    private static readonly int s_count = Enum.GetValues<RejectReason>().Length;
    private readonly long[] _counts = new long[s_count];

    /// <summary>How many datagrams were dropped for <paramref name="reason"/>; 0 for unknown values.</summary>
    public long this[RejectReason reason] => IsValid(reason) ? Interlocked.Read(ref _counts[(int)reason]) : 0;

    /// <summary>Datagrams dropped because the sender was not trusted (spoofed, no credentials, non-root).</summary>
    public long Untrusted => this[RejectReason.Spoofed] + this[RejectReason.MissingCredentials] + this[RejectReason.UntrustedSender];

    /// <summary>Datagrams dropped because they were malformed (every reason but the sender-trust ones).</summary>
    public long Malformed
    {
        get
        {
            long sum = 0;
            for (int i = 1; i < s_count; i++)
            {
                if (!IsTrustReason((RejectReason)i))
                {
                    sum += Interlocked.Read(ref _counts[i]);
                }
            }

            return sum;
        }
    }

    /// <summary>Every reason with a non-zero count, in enum order.</summary>
    public IEnumerable<KeyValuePair<RejectReason, long>> NonZero
    {
        get
        {
            for (int i = 1; i < s_count; i++)
            {
                long n = Interlocked.Read(ref _counts[i]);
                if (n != 0)
                {
                    yield return new((RejectReason)i, n);
                }
            }
        }
    }

    internal void Increment(RejectReason reason)
    {
        if (IsValid(reason) && reason != RejectReason.None)
        {
            Interlocked.Increment(ref _counts[(int)reason]);
        }
    }

    internal static bool IsTrustReason(RejectReason reason) =>
        reason is RejectReason.Spoofed or RejectReason.MissingCredentials or RejectReason.UntrustedSender;

    private static bool IsValid(RejectReason reason) => (uint)reason < (uint)s_count;
}
