using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Cli;

/// <summary>
/// <c>kvm-udev-agent monitor-command VM [--hmp] COMMAND…</c>, like <c>virsh qemu-monitor-command</c>:
/// a command on a VM's monitor through the daemon's connection (QEMU serves one client per monitor),
/// root only, audited as <c>vm.command</c>.
/// </summary>
internal static class MonitorPassthroughCommand
{
    public static Command Create()
    {
        Argument<string> vm = new("VM") { Description = "The VM's name in the configuration" };
        Argument<string[]> words = new("COMMAND")
        {
            Description = "A QMP command as JSON ('{\"execute\": \"query-status\"}'), or with --hmp a human-monitor command line (info usb); several words are joined with spaces",
            Arity = ArgumentArity.OneOrMore,
        };
        Option<bool> hmp = new("--hmp") { Description = "COMMAND is a human-monitor (HMP) command line; on a QMP monitor it goes through human-monitor-command" };
        Option<string> socket = ControlClientOptions.CreateSocketOption();
        Option<bool> json = ControlClientOptions.CreateJsonOption();
        Command command = new("monitor-command", "Run a command on a VM's QEMU monitor through the running daemon and print QEMU's answer (root only; audited as vm.command)")
        {
            vm, words, hmp, socket, json,
        };
        command.SetAction((parseResult, cancellationToken) => InvokeAsync(
            parseResult.GetValue(socket)!,
            parseResult.GetValue(vm)!,
            string.Join(' ', parseResult.GetValue(words) ?? []),
            parseResult.GetValue(hmp),
            parseResult.GetValue(json),
            cancellationToken));
        return command;
    }

    private static async Task<int> InvokeAsync(string socket, string vm, string text, bool hmp, bool json, CancellationToken cancellationToken)
    {
        if (text.Trim().Length == 0)
        {
            await Console.Error.WriteLineAsync("kvm-udev-agent monitor-command: COMMAND is empty; e.g. monitor-command winxp --hmp info usb").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var args = new JsonObject { ["vm"] = vm, ["command"] = text, ["hmp"] = hmp };
        (int exitCode, JsonElement result) = await ControlClientCall.InvokeAsync(socket, ControlVerbs.MonitorCommand, args, Console.Error, cancellationToken).ConfigureAwait(false);
        if (exitCode != ExitCodes.Success)
        {
            return exitCode;
        }

        if (json)
        {
            await ControlClientCall.WriteJsonAsync(Console.Out, result).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        MonitorCommandAnswer? answer = result.Deserialize(VmStatusProbe.CommandAnswerJsonType);
        if (answer?.Output is { } output)
        {
            await Console.Out.WriteAsync(output.EndsWith('\n') || output.Length == 0 ? output : output + "\n").ConfigureAwait(false);
        }
        else if (answer?.Return is { } value)
        {
            // Pretty for a person, one line for a pipe (as virsh --pretty).
            if (Console.IsOutputRedirected)
            {
                await Console.Out.WriteLineAsync(value.GetRawText()).ConfigureAwait(false);
            }
            else
            {
                await ControlClientCall.WriteJsonAsync(Console.Out, value).ConfigureAwait(false);
            }
        }

        return ExitCodes.Success;
    }
}
