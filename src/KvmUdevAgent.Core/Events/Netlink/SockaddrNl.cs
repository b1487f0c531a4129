using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Events.Netlink;

/// <summary>
/// <c>struct sockaddr_nl</c> from <c>linux/netlink.h</c> (12 bytes), which Tmds.LibC does not define:
/// <c>nl_family</c>, padding, <c>nl_pid</c> (port id; 0 is the kernel), <c>nl_groups</c> (multicast bitmask).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockaddrNl
{
    public ushort Family;
    public ushort Pad;
    public uint Pid;
    public uint Groups;
}
