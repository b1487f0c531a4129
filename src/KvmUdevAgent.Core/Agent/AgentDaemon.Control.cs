using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;
using KvmUdevAgent.Core.Vms;

namespace KvmUdevAgent.Core.Agent;

public sealed partial class AgentDaemon
{
    /// <summary>Present devices, the rules that route each and where each is now.</summary>
    public DevicesReport Devices()
    {
        RuleSet ruleSet = _rules.Current;
        AgentState snapshot = _state.Snapshot;
        var reports = new List<DeviceReport>();
        IReadOnlyList<TrackedDevice> present = Tracker.Present;
        foreach (TrackedDevice tracked in present.OrderBy(t => t.DevPath, StringComparer.Ordinal))
        {
            if (tracked.View is not { } device)
            {
                continue;
            }

            Plan plan = ruleSet.Evaluate(device);
            var placement = snapshot.Attachments.Where(a => a.Device.DevPath == device.DevPath).Select(a => $"vm:{a.Vm} ({a.QemuId})")
                .Concat(snapshot.Mounts.Where(m => m.Device.DevPath == device.DevPath).Select(m => "mount:" + m.MountPoint))
                .ToList();
            if (plan.IsEmpty && placement.Count == 0)
            {
                continue;
            }

            reports.Add(new DeviceReport
            {
                DevPath = device.DevPath,
                Kernel = device.Kernel,
                Subsystem = device.Subsystem,
                DevType = device.DevType,
                Vendor = device.Identity.Vendor?.ToString(),
                Product = device.Identity.Product?.ToString(),
                Serial = device.Identity.Serial,
                Label = device.Identity.FsLabel,
                DevNode = device.Identity.DevNode,
                Rules = [.. plan.Actions.Select(a => a.Rule).Distinct()],
                Plan = [.. plan.Actions.Select(a => a.Describe())],
                Placement = placement,
            });
        }

        return new DevicesReport { Devices = reports, Tracked = present.Count };
    }

    /// <summary>
    /// The configured VMs as each reports itself now (QEMU's monitor, libvirt's live XML), through
    /// the daemon's own connections (QEMU serves one client per monitor, so while the daemon runs only it can ask).
    /// </summary>
    public async Task<VmStatus[]> VmsAsync(CancellationToken cancellationToken)
    {
        var statuses = new List<VmStatus>();
        foreach (IVm vm in _vms.Vms.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            VmStatus status = await vm.StatusAsync(cancellationToken).ConfigureAwait(false);
            if (_config.Vms.TryGetValue(vm.Name, out Configuration.VmConfig? configured) && configured.ProxmoxVmid is not null)
            {
                status = status with { ProxmoxVmid = configured.ProxmoxVmid, ProxmoxName = ProxmoxVmName.Read(configured) };
            }

            statuses.Add(status);
        }

        return [.. statuses];
    }

    /// <summary>Attaches a present device (DEVPATH or kernel name) to <paramref name="vm"/> by hand.</summary>
    public async Task<ManualActionReport> AttachAsync(string device, string vm, CancellationToken cancellationToken)
    {
        DeviceView view = FindDevice(device);
        if (!_vms.TryGet(vm, out _))
        {
            throw new ControlException(ControlErrorCodes.NotFound, $"no VM named '{vm}'; configured: {string.Join(", ", _vms.Vms.Select(m => m.Name))}");
        }

        var attach = RuleSet.PlanAttach("manual", vm, RuleSet.DefaultKind(view), readOnly: false, removable: null, view.Identity);
        bool ok = await Executor.AttachAsync(attach, view, cancellationToken).ConfigureAwait(false);
        return new ManualActionReport { DevPath = view.DevPath, Action = "attach", Vm = vm, Succeeded = ok };
    }

    /// <summary>Detaches a device (DEVPATH or kernel name) from every VM the state has it in.</summary>
    public async Task<ManualActionReport> DetachAsync(string device, CancellationToken cancellationToken)
    {
        DeviceView view = FindDevice(device);
        var attachments = _state.Snapshot.Attachments.Where(a => a.Device.DevPath == view.DevPath).ToList();
        if (attachments.Count == 0)
        {
            throw new ControlException(ControlErrorCodes.NotFound, $"{view.DevPath} is not attached to any VM");
        }

        bool ok = true;
        foreach (AttachmentRecord attachment in attachments)
        {
            ok &= await Executor.DetachAsync(attachment, view, "manual", cancellationToken).ConfigureAwait(false);
        }

        return new ManualActionReport { DevPath = view.DevPath, Action = "detach", Vm = string.Join(",", attachments.Select(a => a.Vm)), Succeeded = ok };
    }

    private DeviceView FindDevice(string device)
    {
        foreach (TrackedDevice tracked in Tracker.Present)
        {
            if (tracked.View is { } view && (view.DevPath == device || view.Kernel == device))
            {
                return view;
            }
        }

        throw new ControlException(ControlErrorCodes.NotFound, $"no present device '{device}'; see 'kvm-udev-agent devices' (DEVPATH or kernel name)");
    }
}
