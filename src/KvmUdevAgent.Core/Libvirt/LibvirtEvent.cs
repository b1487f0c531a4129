namespace KvmUdevAgent.Core.Libvirt;

/// <summary>What a libvirt callback copied before returning: no native pointer survives the callback.</summary>
/// <param name="Kind">Which callback.</param>
/// <param name="Domain">The domain's name; null for <see cref="LibvirtEventKind.Closed"/>.</param>
/// <param name="Code">Lifecycle event type or close reason.</param>
/// <param name="Alias">The device alias of a device event.</param>
internal readonly record struct LibvirtEvent(LibvirtEventKind Kind, string? Domain, int Code, string? Alias)
{
    // virDomainEventType
    public const int Started = 2;
    public const int Resumed = 4;
    public const int Stopped = 5;
}
