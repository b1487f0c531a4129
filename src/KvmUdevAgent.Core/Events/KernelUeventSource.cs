using KvmUdevAgent.Core.Events.Netlink;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Raw kernel uevents (netlink group 1). Only the kernel (port id 0) is trusted: root can multicast
/// into group 1 too, so anything else is dropped as <see cref="RejectReason.Spoofed"/>.
/// </summary>
/// <remarks>
/// The kernel numbers every uevent from one global counter (SEQNUM), so a jump means events we did
/// not see: normally a receive-buffer overrun after the one ENOBUFS was already reported, which is
/// why gaps are signalled too. Not every gap is loss, though: uevents of network devices that live
/// in other network namespaces (a container's veth, the <c>lo</c> of every new namespace) take a
/// number but are only sent into their own namespace. Hence <see cref="UeventOverflowKind.SequenceGap"/>
/// means "possibly lost", and a resync is harmless when nothing was.
/// </remarks>
internal sealed class KernelUeventSource : NetlinkUeventSource
{
    private readonly SequenceTracker _sequence = new();

    public KernelUeventSource(NetlinkSocket socket, UeventSourceOptions options, ILogger logger)
        : base(UeventSource.Kernel, socket, options, logger)
    {
    }

    protected override RejectReason CheckSender(in NetlinkReceiveResult received) =>
        received.SenderPid == 0 ? RejectReason.None : RejectReason.Spoofed;

    protected override void OnAccepted(ReadOnlySpan<byte> properties, ReadOnlySpan<int> bounds, in UeventKeySlots keys)
    {
        ulong previous = _sequence.Last;
        ulong seqNum = Uevent.SeqNumOf(properties, bounds, keys);
        ulong missing = _sequence.Observe(seqNum);
        if (missing > 0)
        {
            Counters.AddSequenceGap(missing);
            Log.SequenceGap(Logger, Kind, previous, seqNum, missing);
            SignalOverflow(UeventOverflowKind.SequenceGap, missing);
        }
    }
}
