using System.CommandLine;
using System.Text;
using System.Text.Json;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Cli;

/// <summary><c>kvm-udev-agent devices</c>: present devices, the rule that routes each, where each is now.</summary>
internal static class DevicesCommand
{
    public static Command Create()
    {
        Option<string> socket = ControlClientOptions.CreateSocketOption();
        Option<bool> json = ControlClientOptions.CreateJsonOption();
        Command command = new("devices", "List the present devices that a rule routes or that the agent placed, with the rule and where each is now (asks the running daemon)") { socket, json };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            (int exitCode, JsonElement result) = await ControlClientCall.InvokeAsync(parseResult.GetValue(socket)!, ControlVerbs.Devices, null, Console.Error, cancellationToken).ConfigureAwait(false);
            if (exitCode != ExitCodes.Success)
            {
                return exitCode;
            }

            if (parseResult.GetValue(json))
            {
                await ControlClientCall.WriteJsonAsync(Console.Out, result).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            DevicesReport? report = result.Deserialize(AgentJsonContext.Default.DevicesReport);
            await Console.Out.WriteAsync(Format(report ?? new DevicesReport())).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Format(DevicesReport report)
    {
        var text = new StringBuilder();
        if (report.Devices.Count == 0)
        {
            text.Append("No routed devices (").Append(report.Tracked).Append(" present devices, none matched by a rule).\n");
            return text.ToString();
        }

        foreach (DeviceReport d in report.Devices)
        {
            text.Append(d.DevPath).Append(" (").Append(d.Subsystem).Append(d.DevType is null ? "" : "/" + d.DevType).Append(")\n");
            text.Append("  kernel ").Append(d.Kernel);
            if (d.DevNode is not null)
            {
                text.Append(", node ").Append(d.DevNode);
            }

            if (d.Vendor is not null)
            {
                text.Append(", id ").Append(d.Vendor).Append(':').Append(d.Product);
            }

            if (d.Serial is not null)
            {
                text.Append(", serial ").Append(Printable(d.Serial));
            }

            if (d.Label is not null)
            {
                text.Append(", label ").Append(Printable(d.Label));
            }

            text.Append('\n');
            foreach (string step in d.Plan)
            {
                text.Append("  plan: ").Append(step).Append('\n');
            }

            text.Append("  now:  ").Append(d.Placement.Count == 0 ? "not placed" : string.Join(", ", d.Placement)).Append('\n');
        }

        return text.ToString();
    }

    // Device strings are hostile: shown escaped as 'monitor' shows them (control, bidi and invalid
    // UTF-8 as \xNN), so none can move the cursor or fake a line on a terminal.
    private static string Printable(string value)
    {
        var text = new StringBuilder(value.Length + 8);
        MonitorText.AppendEscaped(text, Encoding.UTF8.GetBytes(value));
        return text.ToString();
    }
}
