using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Agent;

public sealed partial class AgentDaemon
{
    private VmMigrator? _migrator;

    private VmMigrator Migrator => _migrator ??= new VmMigrator(_vms, _reconcile, _state, _audit, _logger);

    /// <summary>Migrates a VM with its agent devices taken out first (see <see cref="VmMigrator"/>); progress goes to <paramref name="progress"/>.</summary>
    internal Task<MigrationReport> MigrateAsync(MigrationRequest request, Func<MigrationProgress, ValueTask>? progress, CancellationToken cancellationToken) =>
        Migrator.MigrateAsync(request, progress, cancellationToken);

    /// <summary>Logs and audits what each VM's guard does about migrations started elsewhere.</summary>
    private void WatchMigrationGuards()
    {
        // The guard acts on QEMU's MIGRATION events: a monitor backend's; libvirt migrates its own domains.
        foreach (QemuVm vm in _vms.Vms.OfType<QemuVm>())
        {
            vm.Monitor.Gate.GuardActed += OnGuardActed;
        }
    }

    private void OnGuardActed(MigrationGuardReport report)
    {
        string devices = string.Join(", ", report.Devices);
        string outcome = report.Cancelled ? "cancelled it (migrate_cancel); the VM keeps running with its devices" : "migrate_cancel failed: " + report.Error;
        Log.MigrationGuard(_logger, report.Vm, report.Status, devices, outcome);
        using var record = new AuditRecord(_audit, AuditTypes.VmMigrationGuard) { Action = "migrate_cancel", Target = report.Vm };
        record.Set("status", report.Status);
        record.Set("devices", devices);
        record.Set("reason", $"a migration started outside the agent while the VM holds agent devices; use 'kvm-udev-agent migrate {report.Vm} URI', or 'migration: allow'");
        if (report.Cancelled)
        {
            record.Succeed();
        }
        else
        {
            record.Fail(report.Error ?? "migrate_cancel failed");
        }
    }
}
