using System.CommandLine;
using System.CommandLine.Parsing;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Daemon;
using Microsoft.Extensions.Hosting;

namespace KvmUdevAgent.Cli;

/// <summary><c>kvm-udev-agent run</c>: the daemon, in the foreground.</summary>
internal static class RunCommand
{
    private const string Name = "run";

    /// <summary>Whether the command line runs the daemon (<c>kvm-udev-agent run ...</c>).</summary>
    public static bool IsRun(ParseResult parseResult) =>
        parseResult.CommandResult.Command.Name == Name && parseResult.CommandResult.Parent is CommandResult { Command: RootCommand };

    public static Command Create()
    {
        Option<string> config = CommonOptions.Config();
        Option<bool> dryRun = new("--dry-run") { Description = "Log each plan and act on nothing (no attach, mount or hook)" };
        Option<bool> verbose = new("--verbose", "-v") { Description = "Log per-event detail (debug level)" };
        Option<string> logFormat = new("--log-format") { Description = "Diagnostic log format on stderr", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");

        Command command = new(Name, "Run the daemon in the foreground: listen for hotplug events and act on them by the rules.\nUnder systemd it signals readiness (Type=notify) once the rules are loaded and the event source is open; SIGHUP reloads the rules; SIGTERM finishes in-flight actions, then exits.")
        {
            config, dryRun, verbose, logFormat,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            AgentConfig? agentConfig = CommonOptions.LoadConfig(parseResult.GetValue(config), Console.Error);
            if (agentConfig is null)
            {
                return ExitCodes.Config;
            }

            var options = new DaemonOptions
            {
                DryRun = parseResult.GetValue(dryRun),
                Verbose = parseResult.GetValue(verbose),
                LogFormat = parseResult.GetValue(logFormat) == "json" ? LogFormat.Json : LogFormat.Text,
            };
            using IHost host = DaemonHost.Build(agentConfig, options);
            try
            {
                await host.RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (AgentStartException e)
            {
                // The log is written by a worker thread: disposing the host flushes what the start
                // logged, so the summary below comes after it.
                host.Dispose();
                foreach (string detail in e.Details)
                {
                    await Console.Error.WriteLineAsync(detail).ConfigureAwait(false);
                }

                await Console.Error.WriteLineAsync($"kvm-udev-agent: {e.Message}").ConfigureAwait(false);
                return ExitCodes.Config;
            }

            return Environment.ExitCode;
        });
        return command;
    }
}
