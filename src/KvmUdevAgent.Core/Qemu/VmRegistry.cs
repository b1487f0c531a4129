using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>The configured VMs, one <see cref="VmMonitor"/> each, by name (ordinal).</summary>
internal sealed class VmRegistry : IAsyncDisposable
{
    private readonly Dictionary<string, VmMonitor> _monitors;

    private VmRegistry(Dictionary<string, VmMonitor> monitors)
    {
        _monitors = monitors;
    }

    public IReadOnlyCollection<VmMonitor> Monitors => _monitors.Values;

    /// <summary>
    /// Builds a monitor per VM of <paramref name="vms"/>. Every endpoint is checked; the errors
    /// (one line per bad VM, naming it) are returned together and nothing is created when any exists.
    /// </summary>
    public static bool TryCreate(IEnumerable<VmConfig> vms, VmMonitorOptions? options, ILoggerFactory? loggerFactory, out VmRegistry registry, out IReadOnlyList<string> errors)
    {
        var monitors = new Dictionary<string, VmMonitor>(StringComparer.Ordinal);
        var problems = new List<string>();
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("KvmUdevAgent.Core.Qemu.VmMonitor");
        foreach (VmConfig vm in vms)
        {
            if (!MonitorEndpoint.TryParse(vm.Monitor, out MonitorEndpoint endpoint, out string? reason))
            {
                problems.Add("vm '" + vm.Name + "': monitor: " + reason);
                continue;
            }

            if (vm.Protocol == MonitorProtocol.Unknown)
            {
                problems.Add("vm '" + vm.Name + "': protocol: expected qmp or hmp");
                continue;
            }

            VmMonitorOptions vmOptions = (options ?? new VmMonitorOptions()) with { Connection = vm.Connection, ProbeInterval = vm.ProbeInterval, PassFds = vm.PassFds };
            var monitor = new VmMonitor(vm.Name, endpoint, vm.Protocol, vmOptions, logger);
            monitor.Gate.Policy = vm.Migration;
            if (!monitors.TryAdd(vm.Name, monitor))
            {
                problems.Add("vm '" + vm.Name + "': defined twice");
            }
        }

        errors = problems;
        registry = new VmRegistry(problems.Count == 0 ? monitors : []);
        return problems.Count == 0;
    }

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out VmMonitor? monitor) => _monitors.TryGetValue(name, out monitor);

    /// <summary>Hooks <paramref name="reconciler"/> to every monitor (so it runs at each connect), then starts them all.</summary>
    public void Start(VmReconciler? reconciler)
    {
        foreach (VmMonitor monitor in _monitors.Values)
        {
            reconciler?.Attach(monitor);
            monitor.Start();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (VmMonitor monitor in _monitors.Values)
        {
            await monitor.DisposeAsync().ConfigureAwait(false);
        }
    }
}
