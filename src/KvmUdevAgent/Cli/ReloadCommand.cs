using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Cli;

/// <summary><c>kvm-udev-agent reload</c>: the running daemon re-reads its rules (as on SIGHUP), root only.</summary>
internal static class ReloadCommand
{
    public static Command Create()
    {
        Option<string> socket = ControlClientOptions.CreateSocketOption();
        Option<bool> json = ControlClientOptions.CreateJsonOption();
        Command command = new("reload", "Make the running daemon reload its rules; on errors it keeps the previous rules") { socket, json };
        command.SetAction((parseResult, cancellationToken) =>
            InvokeAsync(new ReloadOptions(parseResult.GetValue(socket)!, parseResult.GetValue(json)), Console.Out, Console.Error, cancellationToken));
        return command;
    }

    public static async Task<int> InvokeAsync(ReloadOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        (int exitCode, JsonElement result) = await ControlClientCall.InvokeAsync(options.SocketPath, ControlVerbs.Reload, null, error, cancellationToken).ConfigureAwait(false);
        if (exitCode != ExitCodes.Success)
        {
            return exitCode;
        }

        if (options.Json)
        {
            await ControlClientCall.WriteJsonAsync(output, result).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        ReloadReport? report;
        try
        {
            report = result.Deserialize(ControlJson.ReloadReport);
        }
        catch (JsonException ex)
        {
            await error.WriteLineAsync("kvm-udev-agent: the daemon reloaded, but its answer is not understood (" + ex.Message + "); try --json").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        if (report is not null)
        {
            await output.WriteAsync(Format(report)).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>The human-readable answer; golden-tested.</summary>
    public static string Format(ReloadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        string text = string.Create(CultureInfo.InvariantCulture, $"rules reloaded: generation {report.PreviousGeneration} -> {report.Generation}, {report.Rules} {(report.Rules == 1 ? "rule" : "rules")}\n");
        foreach (string warning in report.Warnings)
        {
            text += warning + "\n";
        }

        return text;
    }
}

/// <summary>Options of <c>reload</c>.</summary>
internal sealed record ReloadOptions(string SocketPath, bool Json);
