using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events.Netlink;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Events;

/// <summary>Opens netlink uevent sources.</summary>
public static class UeventSources
{
    /// <summary>
    /// Resolves <see cref="SourceKind.Auto"/>: <see cref="SourceKind.Udev"/> when systemd-udevd runs
    /// (its control socket <see cref="UeventSourceOptions.UdevControlPath"/> exists), else
    /// <see cref="SourceKind.Kernel"/>. Other values are returned unchanged.
    /// </summary>
    public static SourceKind Resolve(SourceKind kind, UeventSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return kind == SourceKind.Auto
            ? (File.Exists(options.UdevControlPath) || Directory.Exists(options.UdevControlPath) ? SourceKind.Udev : SourceKind.Kernel)
            : kind;
    }

    /// <summary>
    /// Opens and binds a source of <paramref name="kind"/> (after resolving <c>auto</c>) in the calling
    /// thread's network namespace, and starts receiving. Needs no privilege. Throws
    /// <see cref="IOException"/> when the socket cannot be opened and <see cref="ArgumentOutOfRangeException"/>
    /// for <see cref="SourceKind.Unknown"/>.
    /// </summary>
    public static IUeventSource Open(SourceKind kind, UeventSourceOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1, nameof(options));
        return Resolve(kind, options) switch
        {
            SourceKind.Kernel => new KernelUeventSource(NetlinkSocket.Open(NetlinkGroup.Kernel, options.ReceiveBufferBytes), options, logger),
            SourceKind.Udev => new UdevUeventSource(NetlinkSocket.Open(NetlinkGroup.Udev, options.ReceiveBufferBytes), options, logger),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "expected auto, udev or kernel"),
        };
    }

    /// <summary>
    /// The devices already present under <paramref name="sysfsRoot"/> (USB devices and interfaces, block
    /// devices), as <c>add</c> events with <see cref="Uevent.Coldplug"/> set and source
    /// <see cref="UeventSource.Sysfs"/>, parents before children. Lazy: sysfs is read as the caller
    /// enumerates. Devices that vanish meanwhile are skipped.
    /// </summary>
    public static IEnumerable<Uevent> EnumerateColdplug(string sysfsRoot, CancellationToken cancellationToken) =>
        new ColdplugEnumerator(sysfsRoot).Enumerate(cancellationToken);
}
