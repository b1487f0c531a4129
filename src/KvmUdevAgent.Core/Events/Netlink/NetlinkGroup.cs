namespace KvmUdevAgent.Core.Events.Netlink;

/// <summary>Multicast groups of <c>NETLINK_KOBJECT_UEVENT</c> (systemd's <c>MonitorNetlinkGroup</c>).</summary>
internal static class NetlinkGroup
{
    /// <summary>Bound to no group: send-only.</summary>
    public const uint None = 0;

    /// <summary>The kernel's raw uevents.</summary>
    public const uint Kernel = 1;

    /// <summary>systemd-udevd's processed events.</summary>
    public const uint Udev = 2;
}
