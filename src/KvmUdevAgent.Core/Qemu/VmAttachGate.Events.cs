using System.Text.Json;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>The QMP event loop: run state from <c>RESUME</c>/<c>STOP</c>/<c>MIGRATION</c>, and the guard.</summary>
internal sealed partial class VmAttachGate
{
    private async Task FollowEventsAsync(MonitorCommands commands, QmpConnection qmp, CancellationToken cancellationToken)
    {
        await Task.Yield();
        bool guardedThisMigration = false;
        try
        {
            await foreach (QmpEvent e in qmp.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    guardedThisMigration = await HandleAsync(commands, qmp, e, guardedThisMigration, cancellationToken).ConfigureAwait(false);
                }
                catch (QmpException failure)
                {
                    // One command refused (QEMU busy migrating): the next event asks again.
                    Log.GateQueryFailed(_logger, _vm, "handling " + e.Name, failure);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is MonitorException or IOException)
        {
            // The connection went away; the next one starts its own loop.
            Log.GateQueryFailed(_logger, _vm, "following QEMU's events", e);
        }
    }

    /// <summary>One event; returns whether the guard has acted on the current migration.</summary>
    private async Task<bool> HandleAsync(MonitorCommands commands, QmpConnection qmp, QmpEvent e, bool guardedThisMigration, CancellationToken cancellationToken)
    {
        switch (e.Name)
        {
            case MigrationStatuses.MigrationEvent:
                {
                    string status = StatusOf(e);
                    UpdateMigration(commands, status);
                    if (MigrationStatuses.IsUnderWay(status))
                    {
                        // Act on setup: a small VM migrates in 90-250 ms, so a guard that
                        // polls, or waits for 'active', loses (design §7).
                        if (!guardedThisMigration && Policy == MigrationPolicy.Guard && !IsHeld)
                        {
                            guardedThisMigration = await GuardAsync(qmp, status, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    else if (MigrationStatuses.IsFinal(status))
                    {
                        guardedThisMigration = false;
                        await RefreshAsync(commands, cancellationToken).ConfigureAwait(false);
                    }

                    break;
                }

            case MigrationStatuses.ResumeEvent:
            case MigrationStatuses.StopEvent:
                await RefreshAsync(commands, cancellationToken).ConfigureAwait(false);
                break;
        }

        return guardedThisMigration;
    }

    private static string StatusOf(QmpEvent e) =>
        e.Data.ValueKind == JsonValueKind.Object && e.Data.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : string.Empty;

    private void UpdateMigration(MonitorCommands commands, string status)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_stateOf, commands) && _state is not null)
            {
                _state = _state with { Migration = status };
            }
        }
    }

    /// <summary>Asks QEMU again; when the VM became attachable (and no migration of ours holds it), runs the reconcile in the background.</summary>
    private async Task RefreshAsync(MonitorCommands commands, CancellationToken cancellationToken)
    {
        bool wasRefused;
        lock (_lock)
        {
            wasRefused = !ReferenceEquals(_stateOf, commands) || _state?.Refusal is not null;
        }

        VmRunState state = await QueryAsync(commands, cancellationToken).ConfigureAwait(false);
        if (wasRefused && state.Refusal is null && !IsHeld)
        {
            _ = Task.Run(() => _onAttachable(cancellationToken), CancellationToken.None);
        }
    }

    /// <summary>
    /// Cancels a migration the agent did not start when the VM holds agent devices. The check is
    /// one <c>qom-list</c>; <c>migrate_cancel</c> follows at once. Returns true when it acted.
    /// </summary>
    private async Task<bool> GuardAsync(QmpConnection qmp, string status, CancellationToken cancellationToken)
    {
        IReadOnlyList<QomProperty> children = await qmp.QomListAsync(QmpCommands.PeripheralPath, cancellationToken).ConfigureAwait(false);
        List<string> devices = [.. children.Where(c => c.ChildType is not null && QemuDeviceId.IsAgentId(c.Name)).Select(c => c.Name)];
        if (devices.Count == 0)
        {
            return false;
        }

        string? error = null;
        try
        {
            await MigrationCommands.CancelAsync(qmp, cancellationToken).ConfigureAwait(false);
        }
        catch (QmpException e)
        {
            error = e.Description;
        }

        GuardActed?.Invoke(new MigrationGuardReport(_vm, status, devices, error is null, error));
        return true;
    }
}
