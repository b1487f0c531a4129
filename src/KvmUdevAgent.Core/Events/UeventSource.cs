namespace KvmUdevAgent.Core.Events;

/// <summary>Where a uevent came from.</summary>
public enum UeventSource
{
    /// <summary>Not known (a replayed record without a source).</summary>
    Unknown = 0,
    /// <summary>Raw kernel message, netlink group 1 (<c>ACTION@DEVPATH</c> header).</summary>
    Kernel,
    /// <summary>systemd-udevd's processed message, netlink group 2 (<c>libudev</c> header).</summary>
    Udev,
    /// <summary>Made by the agent from sysfs at start (coldplug) or after an overflow (resync).</summary>
    Sysfs,
    /// <summary>Read back from a file written by <c>monitor --record</c>.</summary>
    Replay,
}
