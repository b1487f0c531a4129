using KvmUdevAgent.Core.Events.Netlink;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// systemd-udevd's processed events (netlink group 2). Only a sender with uid 0 in
/// <c>SCM_CREDENTIALS</c> is trusted; a datagram without credentials is dropped, as libudev does.
/// </summary>
/// <remarks>
/// Loss is detected from ENOBUFS only, not from SEQNUM. udevd forwards the kernel's SEQNUM, but its
/// workers finish events for different devices in any order (so numbers arrive out of order), it
/// never forwards events it did not get or could not process, and it misses the same
/// other-namespace network events the kernel source does: a gap on this group says nothing reliable.
/// </remarks>
internal sealed class UdevUeventSource : NetlinkUeventSource
{
    public UdevUeventSource(NetlinkSocket socket, UeventSourceOptions options, ILogger logger)
        : base(UeventSource.Udev, socket, options, logger)
    {
    }

    protected override RejectReason CheckSender(in NetlinkReceiveResult received) =>
        !received.HasCredentials ? RejectReason.MissingCredentials
        : received.Uid != 0 ? RejectReason.UntrustedSender
        : RejectReason.None;
}
