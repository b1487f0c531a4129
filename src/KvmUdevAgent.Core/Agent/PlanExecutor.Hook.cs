using System.Collections.Immutable;
using System.Globalization;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Agent;

internal sealed partial class PlanExecutor
{
    // What of a hook's output the audit record carries; the rest stays out of syslog.
    private const int AuditOutputChars = 1024;

    public async Task<bool> HookAsync(PlannedHook hook, DeviceView device, CancellationToken cancellationToken)
    {
        using AuditRecord record = NewRecord(AuditTypes.DeviceHook, device, hook.Rule, "hook", hook.Argv.IsEmpty ? null : hook.Argv[0]);
        if (hook.Refusal is not null)
        {
            Finish(record, device.DevPath, false, "refused: " + hook.Refusal);
            return false;
        }

        var request = new HookRequest
        {
            Argv = hook.Argv,
            Environment = HookEnvironment(device, hook.Rule),
            Timeout = hook.Timeout,
        };
        HookResult result = await hooks.RunAsync(request, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode is int code)
        {
            record.Set("exit_status", code);
        }

        if (result.Signal is int signal)
        {
            record.Set("signal", signal);
        }

        if (result.TimedOut)
        {
            record.Set("timed_out", "true");
        }

        record.Set("stdout", Excerpt(result.Stdout, result.StdoutTruncated));
        record.Set("stderr", Excerpt(result.Stderr, result.StderrTruncated));
        string outcome = result.Succeeded
            ? "exit 0"
            : result.Error ?? (result.TimedOut ? $"timed out after {hook.Timeout.TotalSeconds:0.###} s" : result.ExitCode is int c ? $"exit {c}" : "failed");
        Finish(record, device.DevPath, result.Succeeded, outcome);
        return result.Succeeded;
    }

    private static string Excerpt(string text, bool truncated) =>
        text.Length > AuditOutputChars ? text[..AuditOutputChars] + "…" : truncated ? text + "…" : text;

    /// <summary>The device's identity as <c>KUA_*</c> variables; values are device data, passed as they are.</summary>
    internal static ImmutableDictionary<string, string> HookEnvironment(DeviceView device, string rule)
    {
        DeviceIdentity id = device.Identity;
        var env = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                // An environment value cannot hold NUL; a device string with one is cut there.
                int nul = value.IndexOf('\0', StringComparison.Ordinal);
                env["KUA_" + name] = nul < 0 ? value : value[..nul];
            }
        }

        Add("ACTION", device.Event.Coldplug ? "add" : device.Event.ActionText);
        Add("COLDPLUG", device.Event.Coldplug ? "1" : "0");
        Add("SEQNUM", device.Event.SeqNum.ToString(CultureInfo.InvariantCulture));
        Add("RULE", rule);
        Add("DEVPATH", device.DevPath);
        Add("SUBSYSTEM", device.Subsystem);
        Add("DEVTYPE", device.DevType);
        Add("KERNEL", device.Kernel);
        Add("DEVNODE", id.DevNode);
        Add("VENDOR", id.Vendor?.ToString());
        Add("PRODUCT", id.Product?.ToString());
        Add("SERIAL", id.Serial);
        Add("MANUFACTURER", id.Manufacturer);
        Add("MODEL", id.Model);
        Add("BUSNUM", id.BusNum?.ToString(CultureInfo.InvariantCulture));
        Add("DEVNUM", id.DevNum?.ToString(CultureInfo.InvariantCulture));
        Add("PORT", id.PortPath);
        Add("FS_LABEL", id.FsLabel);
        Add("FS_UUID", id.FsUuid);
        Add("FS_TYPE", id.FsType);
        return env.ToImmutable();
    }
}
