namespace KvmUdevAgent.Core.Devices;

/// <summary>A device the tracker believes present, with the identity seen at add (null until the view is built).</summary>
internal sealed record TrackedDevice(string DevPath, string Subsystem, string? DevType, DeviceIdentity? Identity)
{
    /// <summary>The last view built for the device (null until its add has been processed); what reconcile and <c>devices</c> evaluate the rules on.</summary>
    public DeviceView? View { get; init; }
}
