using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Devices;

/// <summary>A device the tracker believes present, with the identity seen at add (null until the view is built).</summary>
internal sealed record TrackedDevice(string DevPath, string Subsystem, string? DevType, DeviceIdentity? Identity)
{
    /// <summary>The last view built for the device (null until its add has been processed); what reconcile and <c>devices</c> evaluate the rules on.</summary>
    public DeviceView? View { get; init; }

    /// <summary>
    /// Its live add came before its driver and routed nothing: the <c>bind</c> that follows is routed as
    /// its add, once, since <c>driver</c> (and a USB device's active-configuration attributes) are only
    /// known from then on.
    /// </summary>
    public bool AwaitsBind { get; init; }

    /// <summary>
    /// The add (or change) whose view was not built because no rule could match it (issue 15); built
    /// from it when the rules change, so reconcile and <c>devices</c> see the device as before. Null
    /// once a view is built.
    /// </summary>
    public Uevent? Unviewed { get; init; }
}
