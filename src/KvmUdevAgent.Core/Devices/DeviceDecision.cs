namespace KvmUdevAgent.Core.Devices;

/// <summary>The tracker's verdict on one event; <see cref="Remembered"/> is the identity seen at add, for a remove.</summary>
internal readonly record struct DeviceDecision(DeviceEventKind Kind, DeviceIdentity? Remembered)
{
    /// <summary>True for the kinds the rules act on: add, remove and change.</summary>
    public bool Routes => Kind is DeviceEventKind.Add or DeviceEventKind.Remove or DeviceEventKind.Change;
}
