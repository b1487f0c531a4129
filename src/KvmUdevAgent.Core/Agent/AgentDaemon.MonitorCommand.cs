using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Vms;

namespace KvmUdevAgent.Core.Agent;

public sealed partial class AgentDaemon
{
    /// <summary>
    /// Runs a command the administrator typed on <paramref name="vm"/>'s monitor through the daemon's
    /// own connection (QEMU serves one client per monitor), audited as <c>vm.command</c> with its text.
    /// </summary>
    public async Task<MonitorCommandAnswer> RunMonitorCommandAsync(string vm, string command, bool hmp, CancellationToken cancellationToken)
    {
        using var record = new AuditRecord(_audit, AuditTypes.VmCommand) { Action = "command", Target = vm };
        record.Set("command", command);
        record.Set("protocol", hmp ? "hmp" : "qmp");
        if (!_vms.TryGet(vm, out IVm? monitor))
        {
            string unknown = $"no VM named '{vm}'; configured: {string.Join(", ", _vms.Vms.Select(m => m.Name).Order(StringComparer.Ordinal))}";
            record.Fail(unknown);
            throw new ControlException(ControlErrorCodes.NotFound, unknown);
        }

        try
        {
            MonitorCommandAnswer answer = await monitor.RunMonitorCommandAsync(command, hmp, cancellationToken).ConfigureAwait(false);
            record.Succeed();
            return answer;
        }
        catch (ArgumentException e)
        {
            string message = e.Message.Split(" (Parameter", 2)[0];
            record.Fail(message);
            throw new ControlException(ControlErrorCodes.InvalidArgument, message);
        }
        catch (QmpException e)
        {
            string message = $"QEMU refused the command: {e.Class}: {e.Description}";
            record.Fail(message);
            throw new ControlException(ControlErrorCodes.Failed, message);
        }
        catch (VmException e)
        {
            record.Fail(e.Message);
            throw new ControlException(ControlErrorCodes.MonitorUnavailable, $"the monitor of VM '{vm}' cannot take the command: {e.Message}");
        }
    }
}
