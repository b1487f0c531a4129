using System.Collections.Immutable;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;

namespace KvmUdevAgent.Core.Agent;

internal sealed partial class PlanExecutor
{
    public async Task<bool> MountAsync(PlannedMount mount, DeviceView device, CancellationToken cancellationToken)
    {
        using AuditRecord record = NewRecord(AuditTypes.DeviceMount, device, mount.Rule, "mount", mount.RelativePath);
        if (device.Identity.DevNode is not { } devNode)
        {
            Finish(record, device.DevPath, false, "the device has no device node to mount");
            return false;
        }

        // The plan spells the safety options out (nosuid, nodev, noexec unless allowed); the
        // mounter adds them itself, so here they only tell what the rule allows.
        MountAllow allow = MountAllow.Exec | MountAllow.Suid | MountAllow.Dev;
        var options = ImmutableArray.CreateBuilder<string>();
        bool readOnly = false;
        foreach (string option in mount.Options)
        {
            switch (option)
            {
                case "ro": readOnly = true; break;
                case "rw": readOnly = false; break;
                case "noexec": allow &= ~MountAllow.Exec; break;
                case "nosuid": allow &= ~MountAllow.Suid; break;
                case "nodev": allow &= ~MountAllow.Dev; break;
                default: options.Add(option); break;
            }
        }

        var request = new MountRequest
        {
            DevNode = devNode,
            Name = mount.RelativePath,
            KernelName = device.Kernel,
            FsType = mount.FsType,
            Options = options.ToImmutable(),
            ReadOnly = readOnly,
            Allow = allow,
        };
        MountResult result = await mounts.ApplyAsync(request, cancellationToken).ConfigureAwait(false);
        if (result.MountPoint is not null)
        {
            record.Target = result.MountPoint;
            record.Set("options", string.Join(',', result.Options));
        }

        if (result.Succeeded && result.MountPoint is not null)
        {
            state.SetMount(new MountRecord
            {
                Device = DeviceKey.From(device.DevPath, device.Identity),
                DevNode = result.Source?.DevNode ?? devNode,
                Major = result.Source?.Major,
                Minor = result.Source?.Minor,
                MountPoint = result.MountPoint,
                Since = _time.GetUtcNow(),
            });
        }

        Finish(record, device.DevPath, result.Succeeded, result.Succeeded ? result.Outcome.ToString().ToLowerInvariant() : result.Error ?? "mount failed");
        return result.Succeeded;
    }

    public async Task<bool> UnmountAsync(MountRecord mount, DeviceView device, string? rule, CancellationToken cancellationToken)
    {
        using AuditRecord record = NewRecord(AuditTypes.DeviceUnmount, device, rule, "unmount", mount.MountPoint);
        // Only what the record says was mounted there is unmounted (issue 17): a record can outlive
        // our mount, and the administrator may have mounted something else there since.
        var expected = new MountedSource(mount.DevNode, mount.Major, mount.Minor);
        MountResult result = await mounts.RevertAsync(mount.MountPoint, expected, cancellationToken).ConfigureAwait(false);
        // Left alone: the record no longer describes a mount of ours, so it goes too; the failure
        // below logs and audits what is there instead.
        if (result.Succeeded || result.LeftAlone)
        {
            state.RemoveMount(mount.MountPoint);
        }

        Finish(record, device.DevPath, result.Succeeded, result.Succeeded ? result.Outcome.ToString().ToLowerInvariant() : result.Error ?? "unmount failed");
        return result.Succeeded;
    }
}
