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
}
