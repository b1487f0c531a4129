using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Configuration;

/// <summary>
/// The agent's configuration (<c>/etc/kvm-udev-agent/agent.yaml</c>). Every property has a
/// default, so a missing file means all defaults. Paths are absolute after loading (relative
/// ones are resolved against the config file's directory).
/// </summary>
public sealed record AgentConfig
{
    /// <summary>The file this was loaded from; null for built-in defaults.</summary>
    public string? FilePath { get; init; }

    /// <summary>Which netlink group to listen on. Default <see cref="SourceKind.Auto"/>.</summary>
    public SourceKind Source { get; init; } = SourceKind.Auto;

    /// <summary>Root of sysfs; tests point it at a fixture tree. Default <c>/sys</c>.</summary>
    public string SysfsRoot { get; init; } = "/sys";

    /// <summary>Directory of rule files, read in file-name order. Default <c>/etc/kvm-udev-agent/rules.d</c>.</summary>
    public string RulesDir { get; init; } = "/etc/kvm-udev-agent/rules.d";

    /// <summary>Where attachments and mounts are recorded. Default <c>/var/lib/kvm-udev-agent/state.json</c>.</summary>
    public string StateFile { get; init; } = "/var/lib/kvm-udev-agent/state.json";

    /// <summary>Control socket path. Default <c>/run/kvm-udev-agent.sock</c>.</summary>
    public string ControlSocket { get; init; } = "/run/kvm-udev-agent.sock";

    /// <summary>Group whose members may use read-only control verbs; null means root only (socket mode 0600).</summary>
    public string? ControlGroup { get; init; }

    /// <summary>Base directory for mounts. Default <c>/media/kvm-udev-agent</c>.</summary>
    public string MountBase { get; init; } = "/media/kvm-udev-agent";

    /// <summary>
    /// Netlink receive buffer in bytes (set with SO_RCVBUFFORCE; the kernel doubles it). Default 128 MiB:
    /// the kernel charges only what is queued, and an unpaced burst of 100,000 events needs the room.
    /// </summary>
    public int ReceiveBufferBytes { get; init; } = 128 * 1024 * 1024;

    /// <summary>VMs by name.</summary>
    public ImmutableDictionary<string, VmConfig> Vms { get; init; } = ImmutableDictionary<string, VmConfig>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>Audit trail settings.</summary>
    public AuditConfig Audit { get; init; } = new();

    /// <summary>Where Proxmox VE keeps its VMs' QMP sockets (<c>VMID.qmp</c>). Default <c>/var/run/qemu-server</c>.</summary>
    public string ProxmoxRunDir { get; init; } = ProxmoxDefaults.RunDir;

    /// <summary>Where Proxmox VE keeps its VMs' configs (<c>VMID.conf</c>, whose <c>name:</c> line names the VM). Default <c>/etc/pve/qemu-server</c>.</summary>
    public string ProxmoxConfigDir { get; init; } = ProxmoxDefaults.ConfigDir;

    /// <summary>Where the daemon's own diagnostic log goes. Default <see cref="LogTarget.Stderr"/> (under systemd: the journal).</summary>
    public LogTarget Log { get; init; } = LogTarget.Stderr;
}

/// <summary>The <c>log:</c> setting.</summary>
public enum LogTarget
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,
    /// <summary>Standard error, one line per event.</summary>
    Stderr,
    /// <summary>RFC 5424 to the audit trail's syslog target (<c>unix:/dev/log</c> when audit is off), facility and APP-NAME.</summary>
    Syslog,
}

/// <summary>The <c>source:</c> setting.</summary>
public enum SourceKind
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,
    /// <summary>udev when systemd-udevd runs (its control socket exists), else kernel.</summary>
    Auto,
    /// <summary>systemd-udevd's processed events (netlink group 2).</summary>
    Udev,
    /// <summary>Raw kernel events (netlink group 1).</summary>
    Kernel,
}

/// <summary>
/// One VM and how it is reached: a QEMU monitor (<see cref="Monitor"/>, <see cref="Protocol"/>) or,
/// for a domain libvirt manages, libvirt itself (<see cref="Libvirt"/>, <see cref="Uri"/>).
/// </summary>
public sealed record VmConfig
{
    /// <summary>The default libvirt URI.</summary>
    public const string DefaultLibvirtUri = "qemu:///system";

    /// <summary>The VM's name, as rules refer to it.</summary>
    public required string Name { get; init; }

    /// <summary><c>unix:/path</c>, <c>tcp:host:port</c> or <c>telnet:host:port</c>; empty for a libvirt domain.</summary>
    public string Monitor { get; init; } = "";

    /// <summary>The libvirt domain name; null for a VM reached through its QEMU monitor.</summary>
    public string? Libvirt { get; init; }

    /// <summary>The libvirt connection URI (only with <see cref="Libvirt"/>). Default <c>qemu:///system</c>.</summary>
    public string Uri { get; init; } = DefaultLibvirtUri;

    /// <summary>Monitor protocol; <see cref="MonitorProtocol.Auto"/> detects it from the greeting.</summary>
    public MonitorProtocol Protocol { get; init; } = MonitorProtocol.Auto;

    /// <summary>Whether the monitor is held or reached per action and probe. Default <see cref="VmConnection.Persistent"/>; always on-demand for Proxmox VMs.</summary>
    public VmConnection Connection { get; init; } = VmConnection.Persistent;

    /// <summary>How often an on-demand monitor is probed for a restarted QEMU. Default 2 s.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether device nodes are opened by the agent and passed as descriptors. Default <see cref="PassFdsMode.Auto"/>.</summary>
    public PassFdsMode PassFds { get; init; } = PassFdsMode.Auto;

    /// <summary>The Proxmox VE VMID (<c>proxmox:</c>); null for a VM that Proxmox does not manage.</summary>
    public int? ProxmoxVmid { get; init; }

    /// <summary>The VM's Proxmox config file (<c>PROXMOX_CONFIG_DIR/VMID.conf</c>); null when not a Proxmox VM.</summary>
    public string? ProxmoxConfigFile { get; init; }

    /// <summary>What to do about a migration the agent did not start (<c>migration:</c>). Default <see cref="MigrationPolicy.Guard"/>.</summary>
    public MigrationPolicy Migration { get; init; } = MigrationPolicy.Guard;
}

/// <summary>QEMU monitor protocol.</summary>
public enum MonitorProtocol
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,
    /// <summary>Detect from the greeting: QMP sends JSON, HMP a <c>QEMU ... monitor</c> banner.</summary>
    Auto,
    /// <summary>QEMU Machine Protocol (JSON).</summary>
    Qmp,
    /// <summary>Human monitor (<c>-monitor</c>), for old setups.</summary>
    Hmp,
}

/// <summary>The <c>audit:</c> section.</summary>
public sealed record AuditConfig
{
    /// <summary><c>unix:/dev/log</c> (default), <c>udp:host:port</c>, <c>tcp:host:port</c> or <c>off</c>.</summary>
    public string Syslog { get; init; } = "unix:/dev/log";

    /// <summary>Syslog facility name. Default <c>daemon</c>.</summary>
    public string Facility { get; init; } = "daemon";

    /// <summary>APP-NAME in the RFC 5424 header. Default <c>kvm-udev-agent</c>.</summary>
    public string AppName { get; init; } = "kvm-udev-agent";

    /// <summary>
    /// Private enterprise number in the structured-data SD-IDs (<c>kua@32473</c>). Default <c>32473</c>,
    /// the IANA example number reserved for documentation (RFC 5612); a site with its own number sets it.
    /// </summary>
    public string EnterpriseId { get; init; } = "32473";
}
