using System.Text;
using System.Text.Json;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A command the administrator types (<c>kvm-udev-agent monitor-command</c>, like
/// <c>virsh qemu-monitor-command</c>), sent on the agent's own connection because QEMU serves one
/// client per monitor. The text comes from root through the control socket, never from a device.
/// </summary>
internal sealed partial class MonitorCommands
{
    /// <summary>
    /// Runs <paramref name="command"/>: a QMP command as a JSON object (<c>{"execute": ..., "arguments": {...}}</c>),
    /// or with <paramref name="hmp"/> a human-monitor command line (through <c>human-monitor-command</c> on a QMP monitor).
    /// </summary>
    /// <exception cref="ArgumentException">The command is not what the protocol takes (not JSON; QMP on an HMP monitor; several lines).</exception>
    /// <exception cref="QmpException">QEMU refused it.</exception>
    public async Task<MonitorCommandAnswer> RunCommandAsync(string vm, string command, bool hmp, CancellationToken cancellationToken)
    {
        if (hmp)
        {
            EnsureOneLine(command);
            if (_connection is HmpConnection human)
            {
                IReadOnlyList<string> lines = await human.ExecuteAsync(HmpLine.Raw(command), cancellationToken).ConfigureAwait(false);
                return new MonitorCommandAnswer { Vm = vm, Protocol = "hmp", Output = Join(lines) };
            }

            var qmpForHmp = (QmpConnection)_connection;
            JsonElement text = await qmpForHmp.ExecuteAsync(QmpCommands.HumanMonitorCommand, w => w.WriteString("command-line", command), cancellationToken).ConfigureAwait(false);
            return new MonitorCommandAnswer { Vm = vm, Protocol = "hmp", Output = text.ValueKind == JsonValueKind.String ? text.GetString() : text.GetRawText() };
        }

        if (_connection.Protocol != MonitorProtocol.Qmp)
        {
            throw new ArgumentException("VM '" + vm + "' has an HMP monitor: pass --hmp and a human-monitor command line (e.g. --hmp info usb).", nameof(command));
        }

        (string execute, JsonElement? arguments) = ParseQmp(command);
        var qmp = (QmpConnection)_connection;
        JsonElement result = await qmp.ExecuteAsync(execute, arguments is { } args ? w =>
        {
            foreach (JsonProperty property in args.EnumerateObject())
            {
                property.WriteTo(w);
            }
        } : null, cancellationToken).ConfigureAwait(false);
        return new MonitorCommandAnswer { Vm = vm, Protocol = "qmp", Return = result };
    }

    private static (string Execute, JsonElement? Arguments) ParseQmp(string command)
    {
        const string Example = "; a QMP command is a JSON object such as '{\"execute\": \"query-status\"}' (or pass --hmp for a human-monitor command line)";
        JsonElement root;
        try
        {
            using JsonDocument document = JsonDocument.Parse(command);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ArgumentException("not JSON: " + e.Message.Split('.')[0] + Example, nameof(command), e);
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("execute", out JsonElement execute) || execute.ValueKind != JsonValueKind.String || execute.GetString() is not { Length: > 0 } name)
        {
            throw new ArgumentException("the JSON has no \"execute\" string" + Example, nameof(command));
        }

        if (name == QmpCommands.Capabilities)
        {
            throw new ArgumentException("qmp_capabilities is the agent's to send, once per connection", nameof(command));
        }

        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (property.Name is not ("execute" or "arguments"))
            {
                throw new ArgumentException("unexpected member \"" + property.Name + "\"; only \"execute\" and \"arguments\" (the agent sets the id)", nameof(command));
            }
        }

        if (root.TryGetProperty("arguments", out JsonElement arguments))
        {
            return arguments.ValueKind == JsonValueKind.Object
                ? (name, arguments)
                : throw new ArgumentException("\"arguments\" must be a JSON object" + Example, nameof(command));
        }

        return (name, null);
    }

    private static void EnsureOneLine(string command)
    {
        if (command.Length == 0 || command.Any(char.IsControl))
        {
            throw new ArgumentException("an HMP command is one line without control characters", nameof(command));
        }
    }

    private static string Join(IReadOnlyList<string> lines)
    {
        var text = new StringBuilder();
        foreach (string line in lines)
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }
}
