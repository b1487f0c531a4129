namespace KvmUdevAgent.Core.Configuration;

/// <summary>The per-VM <c>migration:</c> setting: what the agent does about a migration it did not start.</summary>
public enum MigrationPolicy
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,

    /// <summary>
    /// Default. A migration started elsewhere (another monitor, a script, a management tool) while the
    /// VM holds devices the agent attached is cancelled at its <c>setup</c> event: a destination without
    /// those devices would fail and the VM would be lost. Use <c>kvm-udev-agent migrate</c> instead.
    /// </summary>
    Guard,

    /// <summary>Migrations started elsewhere go ahead: for a destination known to have the same devices.</summary>
    Allow,
}
