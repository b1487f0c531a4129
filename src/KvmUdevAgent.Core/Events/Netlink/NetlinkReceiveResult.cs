namespace KvmUdevAgent.Core.Events.Netlink;

/// <summary>
/// The outcome of one <c>recvmsg</c>. Either <see cref="Overflow"/> is set (the kernel dropped
/// messages because our receive buffer was full: <c>ENOBUFS</c>, reported once per overrun), or a
/// datagram of <see cref="Length"/> bytes was received from <see cref="SenderPid"/>.
/// </summary>
internal readonly record struct NetlinkReceiveResult(
    int Length,
    uint SenderPid,
    uint SenderGroups,
    bool HasCredentials,
    uint Uid,
    bool Truncated,
    bool Overflow)
{
    public static NetlinkReceiveResult Overrun => new(0, 0, 0, false, 0, false, true);
}
