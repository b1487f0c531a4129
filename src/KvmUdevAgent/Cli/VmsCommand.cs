using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Cli;

/// <summary>
/// <c>kvm-udev-agent vms</c>: each configured VM, its monitor, whether it answers, its QEMU version
/// and the devices the agent attached to it. Talks to the monitors directly (read-only), so it works
/// without the daemon.
/// </summary>
internal static class VmsCommand
{
    public static Command Create()
    {
        Option<string> config = CommonOptions.Config();
        Option<bool> json = CommonOptions.Json();
        Option<string[]> monitor = new("--monitor")
        {
            Description = "Also ask this monitor, as NAME=ENDPOINT (unix:/path, tcp:host:port, telnet:host:port); replaces a configured VM of the same name; repeatable",
            HelpName = "NAME=ENDPOINT",
            AllowMultipleArgumentsPerToken = false,
        };
        Option<double> timeout = new("--timeout")
        {
            Description = "Seconds to wait for each monitor",
            DefaultValueFactory = _ => 3,
        };

        Command command = new("vms", "List the VMs, their monitors, QEMU versions and the devices the agent attached (read-only, straight to the monitors).\nExit code 0 when every monitor answered, 69 when one did not.")
        {
            config, json, monitor, timeout,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            string[] extra = parseResult.GetValue(monitor) ?? [];
            double seconds = parseResult.GetValue(timeout);
            if (seconds is <= 0 or > 600)
            {
                await Console.Error.WriteLineAsync("kvm-udev-agent vms: --timeout must be more than 0 and at most 600 seconds").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            AgentConfig? agentConfig = extra.Length > 0 && parseResult.GetValue(config) is null
                ? new AgentConfig()
                : CommonOptions.LoadConfig(parseResult.GetValue(config), Console.Error);
            if (agentConfig is null)
            {
                return ExitCodes.Config;
            }

            ImmutableDictionary<string, VmConfig> vms = agentConfig.Vms;
            foreach (string item in extra)
            {
                int equals = item.IndexOf('=', StringComparison.Ordinal);
                string? reason = equals <= 0 ? "expected NAME=ENDPOINT" : null;
                if (reason is not null || !VmStatusProbe.IsValidMonitor(item[(equals + 1)..], out reason))
                {
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"kvm-udev-agent vms: --monitor '{item}': {reason}; e.g. --monitor winxp=tcp:127.0.0.1:4411")).ConfigureAwait(false);
                    return ExitCodes.Usage;
                }

                string name = item[..equals];
                vms = vms.SetItem(name, new VmConfig { Name = name, Monitor = item[(equals + 1)..] });
            }

            // While the daemon runs it holds the monitors (QEMU serves one client each): ask it.
            VmStatus[]? fromDaemon = extra.Length == 0 ? await AskDaemonAsync(agentConfig.ControlSocket, cancellationToken).ConfigureAwait(false) : null;
            VmStatus[] statuses = fromDaemon ?? await KvmUdevAgent.Core.Vms.VmRegistry.ProbeAllAsync(vms.Values.OrderBy(v => v.Name, StringComparer.Ordinal), TimeSpan.FromSeconds(seconds), cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await Console.Out.WriteLineAsync(VmStatusProbe.ToJson(statuses)).ConfigureAwait(false);
            }
            else if (statuses.Length == 0)
            {
                await Console.Out.WriteLineAsync("No VMs configured: add a 'vms:' section to the configuration, or pass --monitor NAME=ENDPOINT.").ConfigureAwait(false);
            }
            else
            {
                await Console.Out.WriteAsync(VmStatusProbe.FormatText(statuses)).ConfigureAwait(false);
            }

            return statuses.All(s => s.Reachable) ? ExitCodes.Success : ExitCodes.Unavailable;
        });
        return command;
    }

    private static async Task<VmStatus[]?> AskDaemonAsync(string socket, CancellationToken cancellationToken)
    {
        if (!File.Exists(socket))
        {
            return null;
        }

        try
        {
            await using ControlClient client = await ControlClient.ConnectAsync(socket, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            ControlResponse response = await client.SendAsync(ControlVerbs.Vms, null, cancellationToken).ConfigureAwait(false);
            return response.Ok ? response.Result.Deserialize(VmStatusProbe.JsonType) : null;
        }
        catch (Exception e) when (e is ControlUnavailableException or IOException or JsonException or TimeoutException)
        {
            // Not running (or not ours to ask): fall back to asking the monitors ourselves.
            return null;
        }
    }
}
