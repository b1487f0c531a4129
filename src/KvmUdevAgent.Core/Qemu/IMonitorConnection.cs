namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The typed primitives one monitor connection offers, the same over QMP and HMP. Everything the
/// agent does to a VM (<see cref="MonitorCommands"/>) is built on these.
/// </summary>
internal interface IMonitorConnection : IAsyncDisposable
{
    KvmUdevAgent.Core.Configuration.MonitorProtocol Protocol { get; }

    /// <summary>From the greeting (QMP) or banner (HMP).</summary>
    QemuVersion Version { get; }

    /// <summary>The pid of the QEMU behind a unix-socket monitor (SO_PEERCRED); null over TCP and telnet.</summary>
    int? PeerPid { get; }

    /// <summary>Completes when the connection is closed, by either side.</summary>
    Task Completion { get; }

    Task<IReadOnlyList<QomProperty>> QomListAsync(string path, CancellationToken cancellationToken);

    /// <summary>A property's value as text (strings unquoted, numbers in decimal); null when the object does not exist.</summary>
    Task<string?> QomGetAsync(string path, string property, CancellationToken cancellationToken);

    Task DeviceAddAsync(QemuDeviceSpec device, CancellationToken cancellationToken);

    /// <summary>
    /// <c>device_del</c>, then waits up to <paramref name="waitForRemoval"/> for QEMU to confirm
    /// the removal. With <paramref name="untilReleased"/>, removal means QEMU has also let go of the
    /// device's backends (QMP: <c>DEVICE_DELETED</c>, which QEMU sends ~50 ms after the device left
    /// the QOM tree); without, leaving the QOM tree is enough (usb-host closes the host device on
    /// unrealize). Never throws for a device that is not there.
    /// </summary>
    Task<DeviceDelResult> DeviceDelAsync(string id, TimeSpan waitForRemoval, bool untilReleased, CancellationToken cancellationToken);

    /// <summary>
    /// Completes with true when QEMU reports <paramref name="id"/> deleted after a <see cref="DeviceDelResult.Pending"/>
    /// detach; with false when the connection closes first or the protocol cannot tell (HMP).
    /// </summary>
    Task<bool> WhenDeviceDeletedAsync(string id, CancellationToken cancellationToken);

    /// <summary>Opens <paramref name="devNode"/> as a block backend named <paramref name="nodeName"/>.</summary>
    Task BlockAddAsync(string nodeName, string devNode, bool readOnly, CancellationToken cancellationToken);

    /// <summary>Removes a block backend; false when it did not exist.</summary>
    Task<bool> BlockDelAsync(string nodeName, CancellationToken cancellationToken);

    /// <summary>Names of the block backends/nodes the user or the agent named (QEMU's automatic <c>#block…</c> names excluded).</summary>
    Task<IReadOnlyList<string>> ListBlockNodesAsync(CancellationToken cancellationToken);
}
