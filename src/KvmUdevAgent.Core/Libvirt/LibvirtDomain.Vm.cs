using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Vms;

namespace KvmUdevAgent.Core.Libvirt;

internal sealed partial class LibvirtDomain : IVm
{
    public string Target => "libvirt:" + Domain + " (" + Connection.Uri + ")";

    public bool IsConnected => Connection.IsConnected;

    public int ConnectCount => Connection.ConnectCount;

    public string? MigrateRefusal =>
        $"VM '{Name}' is libvirt domain '{Domain}': migrate it with libvirt (virsh -c '{Connection.Uri}' migrate {Domain} DEST_URI), which recreates its USB host devices on the destination";

    /// <summary>Refused: libvirt holds the domain's only monitor, and a command passed through it marks the domain tainted.</summary>
    public Task<MonitorCommandAnswer> RunMonitorCommandAsync(string command, bool hmp, CancellationToken cancellationToken) =>
        throw new LibvirtException($"VM '{Name}' is libvirt domain '{Domain}': the agent sends it no monitor commands (libvirt would mark it tainted: custom-monitor); ask libvirt instead (virsh -c '{Connection.Uri}' dumpxml {Domain}, or 'virsh qemu-monitor-command' if you accept the taint)");

    /// <summary>What libvirt accepts in a disk's <c>&lt;serial&gt;</c> (<see cref="LibvirtDeviceXml.GuestSerial"/>).</summary>
    public GuestSerial GuestSerialFor(BlockAttachRequest request) =>
        LibvirtDeviceXml.GuestSerial(request.GuestSerial) is { } serial ? new GuestSerial(serial, null)
        : new GuestSerial(null, string.IsNullOrEmpty(request.GuestSerial) ? null : "libvirt refuses a serial longer than 64 characters or with characters other than letters, digits, ' ', '.', '_' and '-' (or only blanks)");

    /// <summary>None of the agent's own: libvirt refuses a hotplug during its migrations itself, and a shut-off domain is refused by the attach.</summary>
    public Task<string?> AttachRefusalAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    /// <summary>libvirt's messages say what follows (reconnect, or attach when the domain starts).</summary>
    public string UnavailableReason(VmException error, bool attaching) => error.Message;

    /// <summary>Runs <paramref name="handler"/> after every connect to libvirtd and when the domain starts or resumes.</summary>
    public void OnCameBack(Func<IVm, CancellationToken, Task> handler) => Connection.OnCameBack(Domain, cancellationToken => handler(this, cancellationToken));

    public void Start() => Connection.Start();

    public async Task<VmStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var status = new VmStatus { Name = Name, Monitor = Target, ConfiguredProtocol = "libvirt", Protocol = "libvirt", Domain = Domain, Uri = Connection.Uri };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            DomainState state = await GetStateAsync(timeout.Token).ConfigureAwait(false);
            AgentDeviceList devices = await ListAgentDevicesAsync(timeout.Token).ConfigureAwait(false);
            return status with { Reachable = true, State = StateName(state), Devices = devices.Devices };
        }
        catch (Exception e) when (e is LibvirtException or OperationCanceledException)
        {
            return status with { Reachable = false, Error = e.Message };
        }
    }

    /// <summary>The CLI's probe without a daemon: a connection of its own, for one answer.</summary>
    public static async Task<VmStatus> ProbeAsync(VmConfig vm, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var status = new VmStatus { Name = vm.Name, Monitor = "libvirt:" + vm.Libvirt + " (" + vm.Uri + ")", ConfiguredProtocol = "libvirt", Domain = vm.Libvirt, Uri = vm.Uri };
        try
        {
            await using var connection = new LibvirtConnection(vm.Uri, new LibvirtOptions { InitialBackoff = timeout });
            connection.Start();
            using var domain = new LibvirtDomain(vm.Name, vm.Libvirt!, connection);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            try
            {
                await connection.WaitConnectedAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return status with { Error = connection.LastError ?? "libvirtd did not answer within " + timeout.TotalSeconds + " s" };
            }

            return await domain.StatusAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (LibvirtException e)
        {
            return status with { Error = e.Message };
        }
    }

    private static string StateName(DomainState state) => state switch
    {
        DomainState.Running => "running",
        DomainState.Blocked => "blocked",
        DomainState.Paused => "paused",
        DomainState.ShuttingDown => "shutting down",
        DomainState.ShutOff => "shut off",
        DomainState.Crashed => "crashed",
        DomainState.PmSuspended => "suspended",
        _ => "unknown",
    };
}
