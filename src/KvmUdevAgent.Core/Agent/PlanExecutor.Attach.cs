using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;
using KvmUdevAgent.Core.Vms;

namespace KvmUdevAgent.Core.Agent;

internal sealed partial class PlanExecutor
{
    /// <summary>
    /// Attaches as <paramref name="attach"/> says; <paramref name="announcement"/> is said once the
    /// monitor has answered (or failed), before this attach's record, or before a record that comes
    /// earlier.
    /// </summary>
    public async Task<bool> AttachAsync(PlannedAttach attach, DeviceView device, CancellationToken cancellationToken, PlanAnnouncement? announcement = null)
    {
        using AuditRecord record = NewRecord(AuditTypes.DeviceAttach, device, attach.Rule, "attach", attach.Vm);
        if (!AttachRequests.TryCreate(attach, device, out AttachRequest? request, out string? reason))
        {
            announcement?.Run();
            Finish(record, device.DevPath, false, reason);
            return false;
        }

        record.Set("qemu_id", request.Id);
        record.Set("as", attach.Kind.ToWord());
        if (!vms.TryGet(attach.Vm, out IVm? monitor))
        {
            announcement?.Run();
            Finish(record, device.DevPath, false, $"no VM named '{attach.Vm}' in the configuration");
            return false;
        }

        if (request is BlockAttachRequest block)
        {
            // What the guest is shown, as sent.
            if (block.Model == BlockDeviceModel.UsbStorage)
            {
                record.Set("removable", block.Removable ? "yes" : "no");
            }

            GuestSerial serial = monitor.GuestSerialFor(block);
            if (serial.Sent is { } sent)
            {
                record.Set("guest_serial", sent);
            }
            else if (serial.OmittedReason is { } omitted)
            {
                record.Set("guest_serial_omitted", omitted);
            }
        }

        try
        {
            AttachResult result;
            try
            {
                result = await monitor.AttachAsync(request, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // Said once QEMU has answered (or the attach failed), not while QEMU works on the
                // commands: the log and syslog wake-ups it causes would compete with QEMU (issue 15).
                announcement?.Run();
            }

            state.SetAttachment(AttachRequests.Record(device, attach.Vm, request.Id, attach.Kind, _time.GetUtcNow()));
            Finish(record, device.DevPath, true, result == AttachResult.AlreadyPresent ? "already attached" : "attached");
            return true;
        }
        catch (VmException e) when (e.IsUnavailable)
        {
            // The reconcile that runs when the VM is back attaches it: the route is derived
            // from the present devices and the rules, not from this failure.
            Finish(record, device.DevPath, false, monitor.UnavailableReason(e, attaching: true));
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Finish(record, device.DevPath, false, e.Message);
            return false;
        }
    }

    public async Task<bool> DetachAsync(AttachmentRecord attachment, DeviceView device, string? rule, CancellationToken cancellationToken)
    {
        using AuditRecord record = NewRecord(AuditTypes.DeviceDetach, device, rule, "detach", attachment.Vm);
        record.Set("qemu_id", attachment.QemuId);
        if (!vms.TryGet(attachment.Vm, out IVm? monitor))
        {
            state.RemoveAttachment(attachment.Vm, attachment.QemuId);
            Finish(record, device.DevPath, false, $"no VM named '{attachment.Vm}' in the configuration any more; forgetting the attachment");
            return false;
        }

        try
        {
            DetachResult result = await monitor.DetachAsync(attachment.QemuId, cancellationToken).ConfigureAwait(false);
            state.RemoveAttachment(attachment.Vm, attachment.QemuId);
            Finish(record, device.DevPath, true, result switch
            {
                DetachResult.AlreadyGone => "already gone",
                DetachResult.Pending => "unplug requested; the guest has not released it yet",
                _ => "detached",
            });
            return true;
        }
        catch (VmException e) when (e.IsUnavailable)
        {
            // The reconcile when the VM is back removes kua- devices whose host device is gone.
            state.RemoveAttachment(attachment.Vm, attachment.QemuId);
            Finish(record, device.DevPath, false, monitor.UnavailableReason(e, attaching: false));
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Finish(record, device.DevPath, false, e.Message);
            return false;
        }
    }
}
