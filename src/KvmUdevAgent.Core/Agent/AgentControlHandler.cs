using System.Text.Json;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;

namespace KvmUdevAgent.Core.Agent;

/// <summary>Answers the control socket's verbs from the running daemon. The server has checked the peer.</summary>
internal sealed class AgentControlHandler(AgentDaemon daemon) : IControlHandler
{
    public async ValueTask<ControlResult> HandleAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        switch (request.Verb)
        {
            case ControlVerbs.Status:
                return ControlResult.Success(daemon.Status(), ControlJson.StatusReport);
            case ControlVerbs.Reload:
                return ControlResult.Success(daemon.ReloadRules(), ControlJson.ReloadReport);
            case ControlVerbs.Devices:
                return ControlResult.Success(daemon.Devices(), AgentJsonContext.Default.DevicesReport);
            case ControlVerbs.Vms:
                return ControlResult.Success(await daemon.VmsAsync(cancellationToken).ConfigureAwait(false), VmStatusProbe.JsonType);
            case ControlVerbs.Attach:
                {
                    string device = RequiredString(request.Args, "device");
                    string vm = RequiredString(request.Args, "vm");
                    return ControlResult.Success(await daemon.AttachAsync(device, vm, cancellationToken).ConfigureAwait(false), AgentJsonContext.Default.ManualActionReport);
                }

            case ControlVerbs.Detach:
                {
                    string device = RequiredString(request.Args, "device");
                    return ControlResult.Success(await daemon.DetachAsync(device, cancellationToken).ConfigureAwait(false), AgentJsonContext.Default.ManualActionReport);
                }

            case ControlVerbs.MonitorCommand:
                {
                    string vm = RequiredString(request.Args, "vm");
                    string command = RequiredString(request.Args, "command");
                    bool hmp = request.Args.ValueKind == JsonValueKind.Object && request.Args.TryGetProperty("hmp", out JsonElement h) && h.ValueKind == JsonValueKind.True;
                    return ControlResult.Success(await daemon.RunMonitorCommandAsync(vm, command, hmp, cancellationToken).ConfigureAwait(false), VmStatusProbe.CommandAnswerJsonType);
                }

            case ControlVerbs.Migrate:
                return ControlResult.Success(await daemon.MigrateAsync(MigrationArgs.Read(request.Args), ProgressSink(request), cancellationToken).ConfigureAwait(false), AgentJsonContext.Default.MigrationReport);

            default:
                throw new ControlException(ControlErrorCodes.BadRequest, $"the daemon does not answer '{request.Verb}'");
        }
    }

    private static Func<MigrationProgress, ValueTask>? ProgressSink(ControlRequest request) =>
        request.Progress is { } send
            ? progress => send(JsonSerializer.SerializeToElement(progress, AgentJsonContext.Default.MigrationProgress), CancellationToken.None)
            : null;

    internal static string RequiredString(JsonElement args, string name) =>
        args.ValueKind == JsonValueKind.Object && args.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new ControlException(ControlErrorCodes.InvalidArgument, $"'{name}' is required");
}
