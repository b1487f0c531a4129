using System.Collections.Immutable;
using System.Globalization;

namespace KvmUdevAgent.Core.Configuration;

/// <summary>The per-VM keys that say how the agent shares a VM's monitor (issue 11): connection, probe_interval, pass_fds, proxmox.</summary>
public static partial class AgentConfigLoader
{
    private static readonly TimeSpan s_minProbeInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_maxProbeInterval = TimeSpan.FromMinutes(10);

    private static bool TryParseSharingKey(string key, string text, VmConfig vm, out VmConfig parsed, out string? problem)
    {
        parsed = vm;
        problem = null;
        switch (key)
        {
            case "connection":
                VmConnection connection = text switch { "persistent" => VmConnection.Persistent, "on-demand" => VmConnection.OnDemand, _ => VmConnection.Unknown };
                if (connection == VmConnection.Unknown)
                {
                    problem = $"unknown connection '{text}'; expected one of: persistent, on-demand";
                    return false;
                }

                parsed = vm with { Connection = connection };
                return true;
            case "probe_interval":
                if (!Rules.Durations.TryParse(text, out TimeSpan interval) || interval < s_minProbeInterval || interval > s_maxProbeInterval)
                {
                    problem = $"bad probe_interval '{text}'; expected a duration between 100ms and 10m, such as 2s";
                    return false;
                }

                parsed = vm with { ProbeInterval = interval };
                return true;
            case "pass_fds":
                PassFdsMode mode = text switch { "auto" => PassFdsMode.Auto, "true" => PassFdsMode.Always, "false" => PassFdsMode.Never, _ => PassFdsMode.Unknown };
                if (mode == PassFdsMode.Unknown)
                {
                    problem = $"unknown pass_fds '{text}'; expected one of: auto, true, false";
                    return false;
                }

                parsed = vm with { PassFds = mode };
                return true;
            case "proxmox":
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int vmid) || vmid is < ProxmoxDefaults.MinVmid or > ProxmoxDefaults.MaxVmid)
                {
                    problem = $"bad proxmox VMID '{text}'; expected the number Proxmox VE shows for the VM ({ProxmoxDefaults.MinVmid} to {ProxmoxDefaults.MaxVmid})";
                    return false;
                }

                parsed = vm with { ProxmoxVmid = vmid };
                return true;
            default:
                problem = "unknown key";
                return false;
        }
    }

    /// <summary>What cannot go together; null when the VM's settings agree.</summary>
    private static string? CheckSharing(VmConfig vm, bool hasMonitor, MonitorProtocol protocol, bool hasConnection)
    {
        if (vm.ProxmoxVmid is null)
        {
            return null;
        }

        if (hasMonitor)
        {
            return "'proxmox' and 'monitor' exclude each other: a Proxmox VE VM's monitor is proxmox_run_dir/VMID.qmp";
        }

        if (protocol == MonitorProtocol.Hmp)
        {
            return "a Proxmox VE VM's monitor speaks QMP; remove 'protocol: hmp'";
        }

        if (hasConnection && vm.Connection == VmConnection.Persistent)
        {
            return "a Proxmox VE VM is always reached on demand (qm and pvestatd connect per command); remove 'connection: persistent'";
        }

        return null;
    }

    private static AgentConfig ResolveProxmox(AgentConfig config)
    {
        if (!config.Vms.Values.Any(vm => vm.ProxmoxVmid is not null))
        {
            return config;
        }

        ImmutableDictionary<string, VmConfig> vms = config.Vms;
        foreach (VmConfig vm in config.Vms.Values)
        {
            if (vm.ProxmoxVmid is int vmid)
            {
                string id = vmid.ToString(CultureInfo.InvariantCulture);
                vms = vms.SetItem(vm.Name, vm with
                {
                    Monitor = "unix:" + Path.Join(config.ProxmoxRunDir, id + ".qmp"),
                    Connection = VmConnection.OnDemand,
                    ProxmoxConfigFile = Path.Join(config.ProxmoxConfigDir, id + ".conf"),
                });
            }
        }

        return config with { Vms = vms };
    }
}
