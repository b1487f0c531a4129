namespace KvmUdevAgent.Core.Libvirt;

/// <summary>Reconnect policy and timeouts of a <see cref="LibvirtConnection"/>.</summary>
internal sealed record LibvirtOptions
{
    /// <summary>First reconnect delay; doubled after each failure. Default 200 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of the reconnect delay. Default 5 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a detach waits for libvirt's device-removed event. Default 5 s.</summary>
    public TimeSpan DetachTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
