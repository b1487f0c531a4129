namespace KvmUdevAgent.Core.Control;

/// <summary>The verbs of the control protocol, verbatim as on the wire, and who may use them.</summary>
public static class ControlVerbs
{
    /// <summary>Read-only: uptime, source, counters (<see cref="StatusReport"/>).</summary>
    public const string Status = "status";

    /// <summary>Read-only: present devices, the rule that routes each, where each is now.</summary>
    public const string Devices = "devices";

    /// <summary>Read-only: live view of the configured VMs.</summary>
    public const string Vms = "vms";

    /// <summary>Read-only: the loaded rules with their hit counts.</summary>
    public const string Rules = "rules";

    /// <summary>Mutating: reload the rules (<see cref="ReloadReport"/>).</summary>
    public const string Reload = "reload";

    /// <summary>Mutating: attach a device to a VM by hand.</summary>
    public const string Attach = "attach";

    /// <summary>Mutating: detach a device by hand.</summary>
    public const string Detach = "detach";

    /// <summary>Mutating: run a command the administrator typed on a VM's monitor, through the daemon's connection (audited).</summary>
    public const string MonitorCommand = "monitor-command";

    /// <summary>Mutating: live-migrate a VM with its agent devices taken out first; sends progress lines.</summary>
    public const string Migrate = "migrate";

    /// <summary>Who may use <paramref name="verb"/>; <see cref="ControlVerbAccess.Unknown"/> for a verb that does not exist.</summary>
    public static ControlVerbAccess GetAccess(string verb) => verb switch
    {
        Status or Devices or Vms or Rules => ControlVerbAccess.ReadOnly,
        Reload or Attach or Detach or MonitorCommand or Migrate => ControlVerbAccess.Mutating,
        _ => ControlVerbAccess.Unknown,
    };
}
