using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// A device as the rules see it: the event that announced it, its identity, and (internally) its
/// sysfs directory with parents for ATTRS{}-style lookups. For a <c>remove</c> the sysfs side is
/// gone and the identity is the one remembered at <c>add</c>.
/// </summary>
public sealed class DeviceView
{
    private static readonly DeviceIdentity s_unknown = new();

    internal DeviceView(Uevent uevent, DeviceIdentity identity, SysfsDevice? sysfs)
    {
        Event = uevent;
        Identity = identity;
        Sysfs = sysfs;
        Kernel = uevent.KernelName;
        Driver = uevent.GetKnownString(UeventKnownKeys.Driver) ?? sysfs?.Driver;
    }

    private DeviceView(Uevent uevent)
    {
        Event = uevent;
        Identity = s_unknown;
        Kernel = uevent.KernelName;
    }

    /// <summary>
    /// The event alone: no identity, no sysfs, no driver. Only the keys the event itself says
    /// (<c>action</c>, <c>subsystem</c>, <c>devtype</c>, <c>kernel</c>, <c>devpath</c>) may be read from it.
    /// </summary>
    internal static DeviceView Bare(Uevent uevent) => new(uevent);

    /// <summary>The event this view was built for.</summary>
    public Uevent Event { get; }

    /// <summary>Who the device is.</summary>
    public DeviceIdentity Identity { get; }

    /// <summary>DEVPATH.</summary>
    public string DevPath => Event.DevPath;

    /// <summary>SUBSYSTEM.</summary>
    public string Subsystem => Event.Subsystem;

    /// <summary>DEVTYPE, if any.</summary>
    public string? DevType => Event.DevType;

    /// <summary>Kernel name (last DEVPATH segment).</summary>
    public string Kernel { get; }

    /// <summary>Bound driver, from the event or sysfs.</summary>
    public string? Driver { get; }

    /// <summary>The sysfs directory, or null when it is gone (remove) or was never there (replay).</summary>
    internal SysfsDevice? Sysfs { get; }
}
