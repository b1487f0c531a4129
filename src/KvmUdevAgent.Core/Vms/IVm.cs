using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Vms;

/// <summary>
/// The contract every VM backend keeps (a QEMU monitor, libvirt): devices (<see cref="IVmDevices"/>),
/// state for <c>vms</c>/<c>status</c>, and the events that start a reconcile ("came back": a
/// monitor that connected, a libvirt domain that started or a libvirtd that came back). Which
/// backend a VM uses is decided once, by <see cref="VmRegistry"/>, from the key that names it.
/// </summary>
internal interface IVm : IVmDevices, IAsyncDisposable
{
    /// <summary>The VM's name in the config, as rules name it.</summary>
    string Name { get; }

    /// <summary>How it is reached, for people: the monitor address, or <c>libvirt:DOMAIN (URI)</c>.</summary>
    string Target { get; }

    /// <summary>Whether the backend is connected now (it may still refuse: a libvirt domain that is shut off).</summary>
    bool IsConnected { get; }

    /// <summary>How many times the backend connected (0: never yet).</summary>
    int ConnectCount { get; }

    /// <summary>
    /// Why this VM cannot be migrated by the agent, with what to use instead; null when it can.
    /// </summary>
    string? MigrateRefusal { get; }

    /// <summary>Runs a command an administrator typed on the VM's monitor (QMP JSON or an HMP line); a backend without one refuses with a <see cref="VmException"/> saying why.</summary>
    Task<MonitorCommandAnswer> RunMonitorCommandAsync(string command, bool hmp, CancellationToken cancellationToken);

    /// <summary>The serial a drive's guest is shown through this VM's monitor, or why it is left out.</summary>
    GuestSerial GuestSerialFor(BlockAttachRequest request);

    /// <summary>Why nothing may be attached now (e.g. a QEMU migrating in or out, design §7), or null when attaching is fine.</summary>
    Task<string?> AttachRefusalAsync(CancellationToken cancellationToken);

    /// <summary>What the audit says when <paramref name="error"/> (unavailable) stopped an attach or detach: why, and what happens next.</summary>
    string UnavailableReason(VmException error, bool attaching);

    /// <summary>Adds a handler run on every event that should start a reconcile of this VM.</summary>
    void OnCameBack(Func<IVm, CancellationToken, Task> handler);

    /// <summary>Starts connecting in the background; idempotent.</summary>
    void Start();

    /// <summary>The VM as <c>kvm-udev-agent vms</c> shows it; never throws for an unreachable VM.</summary>
    Task<VmStatus> StatusAsync(CancellationToken cancellationToken);
}
