namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// Hierarchical record type names (<c>area.what</c>), written as the RFC 5424 MSGID and as
/// <c>type="..."</c>. At most 32 printable ASCII characters each (MSGID limit).
/// </summary>
internal static class AuditTypes
{
    public const string EventRouted = "event.routed";
    public const string EventUnmatched = "event.unmatched";
    public const string DeviceAttach = "device.attach";
    public const string DeviceDetach = "device.detach";
    public const string DeviceMount = "device.mount";
    public const string DeviceUnmount = "device.unmount";
    public const string DeviceHook = "device.hook";
    public const string DeviceRemoved = "device.removed";
    public const string RulesReload = "rules.reload";
    public const string SourceReject = "source.reject";
    public const string SourceOverflow = "source.overflow";
    public const string SourceResync = "source.resync";
    public const string VmReconcile = "vm.reconcile";
    public const string VmCommand = "vm.command";
    public const string VmMigrate = "vm.migrate";
    public const string VmMigrationGuard = "vm.migrate.guard";
    public const string AgentStart = "agent.start";
    public const string AgentStop = "agent.stop";

    /// <summary>Written by the sink itself after its queue had to drop records.</summary>
    public const string AuditDropped = "audit.dropped";
}
