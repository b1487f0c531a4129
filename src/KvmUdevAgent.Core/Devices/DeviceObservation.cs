namespace KvmUdevAgent.Core.Devices;

/// <summary>An event seen through the tracker: its kind, and the device view when it routes (null otherwise).</summary>
internal readonly record struct DeviceObservation(DeviceEventKind Kind, DeviceView? View)
{
    /// <summary>True when the rules should see this event.</summary>
    public bool Routes => View is not null;
}
