using System.Diagnostics;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Vms;
using KvmUdevAgent.Core.State;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// <c>kvm-udev-agent migrate</c>: takes the agent's devices out of the VM first (a destination
/// without them would fail and the VM would be lost, design §7), holds the VM so nothing is attached
/// meanwhile, sends <c>migrate</c> and follows it to its end: on <c>MIGRATION</c> events over QMP,
/// by polling <c>info migrate</c> over HMP. Completed: the VM has left; its devices on this QEMU are
/// forgotten. Failed or cancelled: the VM is resumed if this migration paused it, and what the
/// rules route is attached again.
/// </summary>
internal sealed class VmMigrator(VmRegistry vms, VmReconcileCoordinator reconcile, StateStore state, IAuditWriter audit, ILogger logger)
{
    private static readonly TimeSpan s_progressInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_hmpPollInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_cancelGrace = TimeSpan.FromSeconds(30);

    public async Task<MigrationReport> MigrateAsync(MigrationRequest request, Func<MigrationProgress, ValueTask>? progress, CancellationToken cancellationToken)
    {
        using var record = new AuditRecord(audit, AuditTypes.VmMigrate) { Action = "migrate", Target = request.Vm };
        record.Set("uri", request.Uri);
        try
        {
            MigrationReport report = await RunAsync(request, progress, record, cancellationToken).ConfigureAwait(false);
            record.Set("status", report.Status);
            record.Set("detached", string.Join(",", report.Detached));
            if (report.Succeeded)
            {
                record.Succeed();
            }
            else
            {
                record.Set("resumed", report.Resumed ? "yes" : "no");
                record.Fail(report.Error ?? report.Status);
            }

            return report;
        }
        catch (ControlException e)
        {
            Log.MigrationRefused(logger, request.Vm, request.Uri, e.Message);
            record.Fail(e.Message);
            throw;
        }
    }

    private async Task<MigrationReport> RunAsync(MigrationRequest request, Func<MigrationProgress, ValueTask>? progress, AuditRecord record, CancellationToken cancellationToken)
    {
        if (!vms.TryGet(request.Vm, out IVm? vm))
        {
            throw new ControlException(ControlErrorCodes.NotFound, $"no VM named '{request.Vm}'; configured: {string.Join(", ", vms.Vms.Select(m => m.Name))}");
        }

        // Only a VM behind a QEMU monitor is migrated by the agent; any other backend says what to use.
        if (vm.MigrateRefusal is { } refusal || vm is not QemuVm { Monitor: var monitor })
        {
            throw new ControlException(ControlErrorCodes.InvalidArgument, vm.MigrateRefusal ?? $"VM '{request.Vm}' cannot be migrated by the agent");
        }

        if (!MigrationUri.TryParse(request.Uri, out MigrationUri? uri, out string? uriError))
        {
            throw new ControlException(ControlErrorCodes.InvalidArgument, uriError);
        }

        MonitorCommands commands;
        try
        {
            commands = monitor.CurrentCommands;
        }
        catch (MonitorDisconnectedException)
        {
            throw new ControlException(MigrationErrorCodes.Unavailable, $"the monitor of VM '{request.Vm}' ({monitor.Endpoint}) does not answer; is the VM running? ('kvm-udev-agent vms' shows it)");
        }

        if (!monitor.Gate.TryHold("by 'kvm-udev-agent migrate' to " + uri, out string? heldBy))
        {
            throw new ControlException(MigrationErrorCodes.Conflict, $"VM '{request.Vm}' is already migrating ({heldBy}); wait for it to end");
        }

        bool holding = true;
        try
        {
            IMonitorConnection connection = commands.Connection;
            string protocol = VmStatusProbe.ProtocolName(connection.Protocol) ?? "qmp";
            VmRunState before = await MigrationCommands.QueryRunStateAsync(connection, cancellationToken).ConfigureAwait(false);
            if (MigrationStatuses.IsUnderWay(before.Migration) || MigrationStatuses.IsMigrationRunState(before.RunState))
            {
                throw new ControlException(MigrationErrorCodes.Conflict, $"VM '{request.Vm}' is already migrating (QEMU: state '{before.RunState}', migration '{before.Migration}'); wait for it to end or cancel it first");
            }

            long detachStart = Stopwatch.GetTimestamp();
            (List<string> detached, string? stuck) = await DetachAllAsync(request.Vm, commands, cancellationToken).ConfigureAwait(false);
            if (stuck is not null)
            {
                monitor.Gate.Release();
                holding = false;
                await ReattachAsync(monitor, cancellationToken).ConfigureAwait(false);
                throw new ControlException(ControlErrorCodes.Failed, stuck + "; nothing was sent to QEMU and the devices taken out were attached again");
            }

            double detachMs = Stopwatch.GetElapsedTime(detachStart).TotalMilliseconds;
            Log.MigrationStarting(logger, request.Vm, uri.Text, detached.Count, detached.Count == 0 ? "none" : string.Join(", ", detached));
            if (connection is HmpConnection)
            {
                Log.MigrationPolling(logger, request.Vm, s_hmpPollInterval);
            }

            long migrateStart = Stopwatch.GetTimestamp();
            (MigrationProgress last, bool cancelledByTimeout) = await MigrateAndFollowAsync(connection, uri, request, progress, cancellationToken).ConfigureAwait(false);
            double migrateMs = Stopwatch.GetElapsedTime(migrateStart).TotalMilliseconds;
            record.Set("migrate_ms", (long)migrateMs);
            var report = new MigrationReport
            {
                Vm = request.Vm,
                Uri = uri.Text,
                Status = last.Status,
                Protocol = protocol,
                Detached = detached,
                DetachMs = Math.Round(detachMs, 3),
                MigrateMs = Math.Round(migrateMs, 3),
                Progress = last,
            };

            if (last.Status == MigrationStatuses.Completed)
            {
                monitor.Gate.MarkDeparted(commands);
                foreach (AttachmentRecord attachment in state.Snapshot.Attachments.Where(a => a.Vm == request.Vm))
                {
                    state.RemoveAttachment(request.Vm, attachment.QemuId);
                }

                Log.MigrationCompleted(logger, request.Vm, uri.Text, report.MigrateMs);
                return report with { Succeeded = true };
            }

            string error = cancelledByTimeout
                ? $"the migration did not finish within {request.Timeout!.Value.TotalSeconds:0.#} s and was cancelled" + (last.Error is null ? string.Empty : ": " + last.Error)
                : last.Error ?? (last.Status == MigrationStatuses.Cancelled ? "the migration was cancelled" : "QEMU reported the migration " + last.Status + " without a reason");
            bool resumed = await ResumeIfPausedByMigrationAsync(connection, before, cancellationToken).ConfigureAwait(false);
            monitor.Gate.Release();
            holding = false;
            await ReattachAsync(monitor, cancellationToken).ConfigureAwait(false);
            Log.MigrationFailed(logger, request.Vm, uri.Text, last.Status, error, resumed);
            return report with { Error = error, Resumed = resumed };
        }
        catch (Exception e) when (e is MonitorException && holding)
        {
            // The monitor failed before or during the migration (QEMU gone, or a command refused):
            // whatever was taken out goes back where it can.
            monitor.Gate.Release();
            holding = false;
            await ReattachAsync(monitor, cancellationToken).ConfigureAwait(false);
            throw new ControlException(ControlErrorCodes.Failed, $"migration of VM '{request.Vm}' failed: {e.Message}");
        }
        finally
        {
            if (holding)
            {
                monitor.Gate.Release();
            }
        }
    }

    /// <summary>
    /// Takes out every <c>kua-</c> device and leftover node, waiting for QEMU to confirm each. A device
    /// that will not leave (a PCI device whose guest does not acknowledge the unplug) stops the
    /// migration before anything is sent; the caller re-attaches what was taken out.
    /// </summary>
    private static async Task<(List<string> Detached, string? Stuck)> DetachAllAsync(string vm, MonitorCommands commands, CancellationToken cancellationToken)
    {
        AgentDeviceList actual = await commands.ListAgentDevicesAsync(cancellationToken).ConfigureAwait(false);
        var detached = new List<string>();
        foreach (AgentDevice device in actual.Devices)
        {
            DetachResult result;
            try
            {
                result = await commands.DetachAsync(device.Id, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is MonitorException and not MonitorDisconnectedException)
            {
                return (detached, $"device {device.Id} would not leave VM '{vm}': {e.Message}");
            }

            if (result == DetachResult.Pending)
            {
                return (detached, $"device {device.Id} did not leave VM '{vm}' within {commands.DetachTimeout.TotalSeconds:0.#} s (the guest has not released it; a PCI device needs a guest that acknowledges the unplug)");
            }

            detached.Add(device.Id);
        }

        foreach (string node in actual.BlockNodes)
        {
            string id = node.EndsWith(QemuDeviceId.NodeSuffix, StringComparison.Ordinal) ? node[..^QemuDeviceId.NodeSuffix.Length] : node;
            if (!detached.Contains(id, StringComparer.Ordinal) && QemuDeviceId.IsAgentId(id))
            {
                await commands.DetachAsync(id, cancellationToken).ConfigureAwait(false);
            }
        }

        return (detached, null);
    }

    private async Task ReattachAsync(VmMonitor monitor, CancellationToken cancellationToken)
    {
        try
        {
            if (vms.TryGet(monitor.Name, out IVm? vm))
            {
                await reconcile.ReconcileAsync(vm, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is MonitorException or IOException)
        {
            // The monitor is gone; its next connect reconciles.
            Log.ReconcileDeferred(logger, monitor.Name, e.Message);
        }
    }

    private static async Task<(MigrationProgress Last, bool CancelledByTimeout)> MigrateAndFollowAsync(
        IMonitorConnection connection, MigrationUri uri, MigrationRequest request, Func<MigrationProgress, ValueTask>? progress, CancellationToken cancellationToken)
    {
        var capabilities = new List<string> { MigrationCommands.EventsCapability };
        if (request.ReturnPath)
        {
            capabilities.Add(MigrationCommands.ReturnPathCapability);
        }

        await MigrationCommands.EnableCapabilitiesAsync(connection, capabilities, cancellationToken).ConfigureAwait(false);
        using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Registered before 'migrate': a small VM can finish before its reply is read.
        Task<QmpEvent>? ended = connection is QmpConnection qmp
            ? qmp.WaitForEvent(e => e.Name == MigrationStatuses.MigrationEvent && e.Data.TryGetProperty("status", out var s) && MigrationStatuses.IsFinal(s.GetString() ?? string.Empty), stopWaiting.Token)
            : null;
        try
        {
            try
            {
                await MigrationCommands.StartAsync(connection, uri, cancellationToken).ConfigureAwait(false);
            }
            catch (QmpException e)
            {
                // Refused before it began (no listener at the destination, a blocker): QEMU's own words.
                return (new MigrationProgress { Status = MigrationStatuses.Failed, Error = e.Description }, false);
            }

            long deadline = request.Timeout is { } t ? Stopwatch.GetTimestamp() + (long)(t.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
            TimeSpan interval = ended is null ? s_hmpPollInterval : s_progressInterval;
            while (true)
            {
                if (ended is not null)
                {
                    TimeSpan wait = Remaining(deadline) is { } r && r < interval ? r : interval;
                    await Task.WhenAny(ended, Task.Delay(wait, cancellationToken)).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
                else
                {
                    await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                }

                MigrationProgress now = await MigrationCommands.QueryProgressAsync(connection, cancellationToken).ConfigureAwait(false);
                if (MigrationStatuses.IsFinal(now.Status))
                {
                    await ReportAsync(progress, now).ConfigureAwait(false);
                    return (now, false);
                }

                await ReportAsync(progress, now).ConfigureAwait(false);
                if (Remaining(deadline) is { } left && left <= TimeSpan.Zero)
                {
                    await MigrationCommands.CancelAsync(connection, cancellationToken).ConfigureAwait(false);
                    return (await WaitFinalAsync(connection, cancellationToken).ConfigureAwait(false), true);
                }
            }
        }
        finally
        {
            await stopWaiting.CancelAsync().ConfigureAwait(false);
        }
    }

    private static async Task<MigrationProgress> WaitFinalAsync(IMonitorConnection connection, CancellationToken cancellationToken)
    {
        long giveUp = Stopwatch.GetTimestamp() + (long)(s_cancelGrace.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            MigrationProgress now = await MigrationCommands.QueryProgressAsync(connection, cancellationToken).ConfigureAwait(false);
            if (MigrationStatuses.IsFinal(now.Status) || Stopwatch.GetTimestamp() > giveUp)
            {
                return now;
            }

            await Task.Delay(s_hmpPollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TimeSpan? Remaining(long deadline) =>
        deadline == long.MaxValue ? null : TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);

    private static async ValueTask ReportAsync(Func<MigrationProgress, ValueTask>? progress, MigrationProgress now)
    {
        if (progress is null)
        {
            return;
        }

        try
        {
            await progress(now).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // The CLI went away (Ctrl-C): the migration is followed to its end all the same.
        }
    }

    /// <summary>
    /// Resumes the VM only when this migration left it paused: QEMU stops the source for the final
    /// copy (<c>finish-migrate</c>) and leaves it <c>postmigrate</c>; a VM that was paused before
    /// stays paused.
    /// </summary>
    private static async Task<bool> ResumeIfPausedByMigrationAsync(IMonitorConnection connection, VmRunState before, CancellationToken cancellationToken)
    {
        VmRunState after = await MigrationCommands.QueryRunStateAsync(connection, cancellationToken).ConfigureAwait(false);
        bool pausedByUs = before.RunState == MigrationStatuses.Running && after.RunState != MigrationStatuses.Running;
        if (!pausedByUs)
        {
            return false;
        }

        await MigrationCommands.ContinueAsync(connection, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
