using KvmUdevAgent.Core.Vms;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>A VM reached through its QEMU monitor: the VM contract over <see cref="VmMonitor"/>, which it owns.</summary>
internal sealed class QemuVm(VmMonitor monitor) : IVm
{
    public VmMonitor Monitor { get; } = monitor;

    public string Name => Monitor.Name;

    public string Target => Monitor.Endpoint.ToString();

    public bool IsConnected => Monitor.IsConnected;

    public int ConnectCount => Monitor.ConnectCount;

    public string? MigrateRefusal => null;

    public string UnavailableReason(VmException error, bool attaching) =>
        // On demand, the message says it all (busy or down); the next probe reconciles.
        Monitor.Connection == Configuration.VmConnection.OnDemand
            ? error.Message
            : $"the monitor of VM '{Name}' is not connected; the device is {(attaching ? "attached" : "detached")} when it answers";

    public Task<MonitorCommandAnswer> RunMonitorCommandAsync(string command, bool hmp, CancellationToken cancellationToken) =>
        Monitor.RunCommandAsync(Name, command, hmp, cancellationToken);

    public GuestSerial GuestSerialFor(BlockAttachRequest request) =>
        // An HMP monitor is detected on connect; before that, assume the strict one.
        GuestSerial.Choose(request.GuestSerial, request.Model, Monitor.Protocol ?? (Monitor.ConfiguredProtocol == Configuration.MonitorProtocol.Qmp ? Configuration.MonitorProtocol.Qmp : Configuration.MonitorProtocol.Hmp));

    public Task<string?> AttachRefusalAsync(CancellationToken cancellationToken) => Monitor.AttachRefusalAsync(cancellationToken);

    public void OnCameBack(Func<IVm, CancellationToken, Task> handler) => Monitor.OnCameBack((_, cancellationToken) => handler(this, cancellationToken));

    public void Start() => Monitor.Start();

    public Task<AttachResult> AttachAsync(AttachRequest request, CancellationToken cancellationToken) => Monitor.AttachAsync(request, cancellationToken);

    public Task<DetachResult> DetachAsync(string id, CancellationToken cancellationToken) => Monitor.DetachAsync(id, cancellationToken);

    public Task<AgentDeviceList> ListAgentDevicesAsync(CancellationToken cancellationToken) => Monitor.ListAgentDevicesAsync(cancellationToken);

    /// <summary>Through the daemon's own connection (QEMU serves one client per monitor, so while the daemon runs only it can ask).</summary>
    public async Task<VmStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var status = new VmStatus
        {
            Name = Name,
            Monitor = Target,
            ConfiguredProtocol = VmStatusProbe.ProtocolName(Monitor.ConfiguredProtocol) ?? "auto",
            Protocol = Monitor.Protocol is { } p ? VmStatusProbe.ProtocolName(p) : null,
            QemuVersion = Monitor.Version?.ToString(),
        };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            AgentDeviceList devices = await Monitor.ListAgentDevicesAsync(timeout.Token).ConfigureAwait(false);
            return status with { Reachable = true, Devices = devices.Devices, BlockNodes = devices.BlockNodes };
        }
        catch (Exception e) when (e is MonitorException or OperationCanceledException or IOException)
        {
            return status with { Reachable = false, Error = Monitor.IsConnected ? e.Message : "the monitor does not answer (the daemon keeps retrying)" };
        }
    }

    public ValueTask DisposeAsync() => Monitor.DisposeAsync();
}
