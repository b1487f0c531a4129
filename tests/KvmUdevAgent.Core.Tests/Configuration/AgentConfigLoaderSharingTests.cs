using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Tests.Configuration;

/// <summary>The per-VM keys of issue 11 (connection, probe_interval, pass_fds, proxmox) and the Proxmox directories.</summary>
public sealed class AgentConfigLoaderSharingTests
{
    private static AgentConfig Parse(string yaml, out List<ConfigDiagnostic> diagnostics) =>
        AgentConfigLoader.Parse(yaml, "agent.yaml", "/etc/kvm-udev-agent", out diagnostics);

    [Fact]
    public void Parse_NoSharingKeys_PersistentAutoTwoSeconds()
    {
        AgentConfig config = Parse("vms:\n  a: { monitor: 'unix:/run/a.qmp' }\n", out var diagnostics);
        Assert.Empty(diagnostics);
        VmConfig vm = config.Vms["a"];
        Assert.Equal(VmConnection.Persistent, vm.Connection);
        Assert.Equal(PassFdsMode.Auto, vm.PassFds);
        Assert.Equal(TimeSpan.FromSeconds(2), vm.ProbeInterval);
        Assert.Null(vm.ProxmoxVmid);
        Assert.Equal("/var/run/qemu-server", config.ProxmoxRunDir);
        Assert.Equal("/etc/pve/qemu-server", config.ProxmoxConfigDir);
    }

    [Fact]
    public void Parse_OnDemandProbeAndPassFds_Accepted()
    {
        AgentConfig config = Parse(
            "vms:\n  seed: { monitor: 'tcp:127.0.0.1:4446', protocol: hmp, connection: on-demand, probe_interval: 500ms, pass_fds: false }\n  b: { monitor: 'unix:/run/b.qmp', pass_fds: true }\n",
            out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Equal(VmConnection.OnDemand, config.Vms["seed"].Connection);
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.Vms["seed"].ProbeInterval);
        Assert.Equal(PassFdsMode.Never, config.Vms["seed"].PassFds);
        Assert.Equal(PassFdsMode.Always, config.Vms["b"].PassFds);
    }

    [Fact]
    public void Parse_Proxmox_MonitorFromRunDirWhereverTheKeyIs()
    {
        AgentConfig config = Parse("vms:\n  winxp: { proxmox: 100 }\nproxmox_run_dir: /run/pve\nproxmox_config_dir: pve\n", out var diagnostics);
        Assert.Empty(diagnostics);
        VmConfig vm = config.Vms["winxp"];
        Assert.Equal("unix:/run/pve/100.qmp", vm.Monitor);
        Assert.Equal(MonitorProtocol.Qmp, vm.Protocol);
        Assert.Equal(VmConnection.OnDemand, vm.Connection);
        Assert.Equal(100, vm.ProxmoxVmid);
        Assert.Equal("/etc/kvm-udev-agent/pve/100.conf", vm.ProxmoxConfigFile);
    }

    [Fact]
    public void Rejects_BadSharingValues_AllInOnePass()
    {
        Parse(
            "vms:\n" +
            "  a: { monitor: 'unix:/a', connection: sometimes }\n" +
            "  b: { monitor: 'unix:/b', probe_interval: 2 }\n" +
            "  c: { monitor: 'unix:/c', pass_fds: yes }\n" +
            "  d: { proxmox: 42 }\n" +
            "  e: { proxmox: 101, monitor: 'unix:/e' }\n" +
            "  f: { connection: persistent, proxmox: 102 }\n" +
            "  g: { proxmox: 103, protocol: hmp }\n",
            out var diagnostics);
        Assert.Equal(
            [
                "agent.yaml:2:40: error: VM 'a': unknown connection 'sometimes'; expected one of: persistent, on-demand",
                "agent.yaml:3:44: error: VM 'b': bad probe_interval '2'; expected a duration between 100ms and 10m, such as 2s",
                "agent.yaml:4:38: error: VM 'c': unknown pass_fds 'yes'; expected one of: auto, true, false",
                "agent.yaml:5:17: error: VM 'd': bad proxmox VMID '42'; expected the number Proxmox VE shows for the VM (100 to 999999999)",
                "agent.yaml:5:6: error: VM 'd': 'monitor' is required (unix:/path, tcp:host:port or telnet:host:port), or 'proxmox: VMID' for a Proxmox VE VM, or 'libvirt: DOMAIN' for a domain libvirt manages",
                "agent.yaml:6:6: error: VM 'e': 'proxmox' and 'monitor' exclude each other: a Proxmox VE VM's monitor is proxmox_run_dir/VMID.qmp",
                "agent.yaml:7:6: error: VM 'f': a Proxmox VE VM is always reached on demand (qm and pvestatd connect per command); remove 'connection: persistent'",
                "agent.yaml:8:6: error: VM 'g': a Proxmox VE VM's monitor speaks QMP; remove 'protocol: hmp'",
            ],
            diagnostics.Select(d => d.ToString()));
    }
}
