namespace KvmUdevAgent.Core.Devices;

/// <summary>What an event means for routing, once <see cref="DeviceTracker"/> has seen it.</summary>
internal enum DeviceEventKind
{
    /// <summary>Not classified.</summary>
    Unknown = 0,
    /// <summary>The device appeared (or a coldplug/resync re-announced it): route as add.</summary>
    Add,
    /// <summary>The device went away: route as remove, with the identity remembered at add.</summary>
    Remove,
    /// <summary>Something about a present device changed (media, label): route as change.</summary>
    Change,
    /// <summary>The device was renamed (DEVPATH_OLD → DEVPATH); the tracker follows it. Not routed.</summary>
    Move,
    /// <summary><c>bind</c>/<c>unbind</c>: a driver came or went on a device we already know. Not routed.</summary>
    Binding,
    /// <summary><c>online</c>/<c>offline</c> and action words this version does not know. Not routed.</summary>
    Ignored,
}
