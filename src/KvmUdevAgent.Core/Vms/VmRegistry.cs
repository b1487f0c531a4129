using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Libvirt;
using KvmUdevAgent.Core.Qemu;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Vms;

/// <summary>
/// The configured VMs by name (ordinal), each behind the VM contract. The one place that picks a
/// backend, from the key that names the VM: <c>monitor:</c> → a QEMU monitor (<see cref="QemuVm"/>),
/// <c>libvirt:</c> → libvirt (<see cref="LibvirtDomain"/>, one connection per URI).
/// </summary>
internal sealed class VmRegistry : IAsyncDisposable
{
    private readonly Dictionary<string, IVm> _vms;
    private readonly List<LibvirtConnection> _connections;

    private VmRegistry(Dictionary<string, IVm> vms, List<LibvirtConnection> connections)
    {
        _vms = vms;
        _connections = connections;
    }

    public IReadOnlyCollection<IVm> Vms => _vms.Values;

    /// <summary>
    /// Builds a VM per entry of <paramref name="vms"/>. Every entry is checked; the errors (one line
    /// per bad VM, naming it) are returned together and nothing is created when any exists. libvirt
    /// is loaded only when a VM names a libvirt domain, and its absence is such an error.
    /// </summary>
    public static bool TryCreate(IEnumerable<VmConfig> vms, VmMonitorOptions? options, ILoggerFactory? loggerFactory, out VmRegistry registry, out IReadOnlyList<string> errors, LibvirtOptions? libvirtOptions = null)
    {
        var created = new Dictionary<string, IVm>(StringComparer.Ordinal);
        var connections = new Dictionary<string, LibvirtConnection>(StringComparer.Ordinal);
        var problems = new List<string>();
        loggerFactory ??= NullLoggerFactory.Instance;
        ILogger logger = loggerFactory.CreateLogger("KvmUdevAgent.Core.Qemu.VmMonitor");
        ILogger libvirtLogger = loggerFactory.CreateLogger("KvmUdevAgent.Core.Libvirt");
        foreach (VmConfig vm in vms)
        {
            IVm? made = null;
            if (vm.Libvirt is { } domain)
            {
                if (!connections.TryGetValue(vm.Uri, out LibvirtConnection? connection))
                {
                    try
                    {
                        LibvirtEventLoop.EnsureStarted();
                    }
                    catch (LibvirtException e)
                    {
                        problems.Add("vm '" + vm.Name + "': " + e.Message);
                        continue;
                    }

                    connection = new LibvirtConnection(vm.Uri, libvirtOptions, libvirtLogger);
                    connections.Add(vm.Uri, connection);
                }

                made = new LibvirtDomain(vm.Name, domain, connection);
            }
            else if (!MonitorEndpoint.TryParse(vm.Monitor, out MonitorEndpoint endpoint, out string? reason))
            {
                problems.Add("vm '" + vm.Name + "': monitor: " + reason);
                continue;
            }
            else if (vm.Protocol == MonitorProtocol.Unknown)
            {
                problems.Add("vm '" + vm.Name + "': protocol: expected qmp or hmp");
                continue;
            }
            else
            {
                VmMonitorOptions vmOptions = (options ?? new VmMonitorOptions()) with { Connection = vm.Connection, ProbeInterval = vm.ProbeInterval, PassFds = vm.PassFds };
                var monitor = new VmMonitor(vm.Name, endpoint, vm.Protocol, vmOptions, logger);
                monitor.Gate.Policy = vm.Migration;
                made = new QemuVm(monitor);
            }

            if (!created.TryAdd(vm.Name, made))
            {
                problems.Add("vm '" + vm.Name + "': defined twice");
            }
        }

        errors = problems;
        registry = new VmRegistry(problems.Count == 0 ? created : [], [.. connections.Values]);
        return problems.Count == 0;
    }

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IVm? vm) => _vms.TryGetValue(name, out vm);

    /// <summary>Starts every VM's backend connecting.</summary>
    public void Start()
    {
        foreach (IVm vm in _vms.Values)
        {
            vm.Start();
        }
    }

    /// <summary>
    /// For the CLI without a daemon: each VM's status through a short-lived backend of its own
    /// (in parallel, each within <paramref name="timeout"/>); never throws for a VM that is down.
    /// </summary>
    public static Task<VmStatus[]> ProbeAllAsync(IEnumerable<VmConfig> vms, TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.WhenAll(vms.Select(vm => vm.Libvirt is not null
            ? LibvirtDomain.ProbeAsync(vm, timeout, cancellationToken)
            : VmStatusProbe.ProbeAsync(vm, timeout, cancellationToken)));

    public async ValueTask DisposeAsync()
    {
        foreach (IVm vm in _vms.Values)
        {
            await vm.DisposeAsync().ConfigureAwait(false);
        }

        foreach (LibvirtConnection connection in _connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
