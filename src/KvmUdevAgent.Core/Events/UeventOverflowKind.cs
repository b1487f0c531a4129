namespace KvmUdevAgent.Core.Events;

/// <summary>Why a source believes it lost events.</summary>
public enum UeventOverflowKind
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,

    /// <summary>The kernel dropped datagrams because the socket's receive buffer was full (<c>ENOBUFS</c>). Certain loss, count unknown.</summary>
    ReceiveBufferOverrun,

    /// <summary>
    /// Kernel source only: <c>SEQNUM</c> skipped numbers. Usually loss, but uevents of network devices
    /// that live in other network namespaces also take numbers without reaching us, so treat it as possible loss.
    /// </summary>
    SequenceGap,

    /// <summary>
    /// The ring between the receive loop and the pipeline was full, so the loop dropped events rather
    /// than stop reading the socket. Certain loss, count in <see cref="UeventSourceCounters.RingOverflows"/>.
    /// </summary>
    RingOverflow,
}
