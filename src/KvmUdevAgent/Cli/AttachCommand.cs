using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Cli;

/// <summary><c>kvm-udev-agent attach DEVICE VM</c> and <c>detach DEVICE</c>: by hand, through the running daemon.</summary>
internal static class AttachCommand
{
    public static Command CreateAttach()
    {
        Argument<string> device = new("DEVICE") { Description = "A present device: its DEVPATH or kernel name (see 'kvm-udev-agent devices')" };
        Argument<string> vm = new("VM") { Description = "The VM's name in the configuration" };
        CliCompletions.AddVmNames(vm);
        Option<string> socket = ControlClientOptions.CreateSocketOption();
        Option<bool> json = ControlClientOptions.CreateJsonOption();
        Command command = new("attach", "Attach a present device to a VM now, whatever the rules say (root only; audited with rule 'manual')") { device, vm, socket, json };
        command.SetAction((parseResult, cancellationToken) => InvokeAsync(
            parseResult.GetValue(socket)!,
            ControlVerbs.Attach,
            new JsonObject { ["device"] = parseResult.GetValue(device), ["vm"] = parseResult.GetValue(vm) },
            parseResult.GetValue(json),
            cancellationToken));
        return command;
    }

    public static Command CreateDetach()
    {
        Argument<string> device = new("DEVICE") { Description = "A present device: its DEVPATH or kernel name" };
        Option<string> socket = ControlClientOptions.CreateSocketOption();
        Option<bool> json = ControlClientOptions.CreateJsonOption();
        Command command = new("detach", "Detach a device from the VM it is attached to (root only; audited with rule 'manual')") { device, socket, json };
        command.SetAction((parseResult, cancellationToken) => InvokeAsync(
            parseResult.GetValue(socket)!,
            ControlVerbs.Detach,
            new JsonObject { ["device"] = parseResult.GetValue(device) },
            parseResult.GetValue(json),
            cancellationToken));
        return command;
    }

    private static async Task<int> InvokeAsync(string socket, string verb, JsonObject args, bool json, CancellationToken cancellationToken)
    {
        (int exitCode, JsonElement result) = await ControlClientCall.InvokeAsync(socket, verb, args, Console.Error, cancellationToken).ConfigureAwait(false);
        if (exitCode != ExitCodes.Success)
        {
            return exitCode;
        }

        if (json)
        {
            await ControlClientCall.WriteJsonAsync(Console.Out, result).ConfigureAwait(false);
        }

        ManualActionReport? report = result.Deserialize(AgentJsonContext.Default.ManualActionReport);
        if (report is null)
        {
            return ExitCodes.Failure;
        }

        if (!json)
        {
            await Console.Out.WriteLineAsync($"{report.Action} {report.DevPath} {(report.Action == "attach" ? "to" : "from")} {report.Vm}: {(report.Succeeded ? "done" : "failed (see the audit log or the daemon's log for why)")}").ConfigureAwait(false);
        }

        return report.Succeeded ? ExitCodes.Success : ExitCodes.Failure;
    }
}
