using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Cli;

/// <summary><c>kvm-udev-agent status</c>: the running daemon's uptime, source and counters.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        Option<string> socket = ControlClientOptions.CreateSocketOption();
        Option<bool> json = ControlClientOptions.CreateJsonOption();
        Command command = new("status", "Show the running daemon's uptime, event source and counters") { socket, json };
        command.SetAction((parseResult, cancellationToken) =>
            InvokeAsync(new StatusOptions(parseResult.GetValue(socket)!, parseResult.GetValue(json)), Console.Out, Console.Error, cancellationToken));
        return command;
    }

    public static async Task<int> InvokeAsync(StatusOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        (int exitCode, JsonElement result) = await ControlClientCall.InvokeAsync(options.SocketPath, ControlVerbs.Status, null, error, cancellationToken).ConfigureAwait(false);
        if (exitCode != ExitCodes.Success)
        {
            return exitCode;
        }

        if (options.Json)
        {
            await ControlClientCall.WriteJsonAsync(output, result).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        StatusReport? report;
        try
        {
            report = result.Deserialize(ControlJson.StatusReport);
        }
        catch (JsonException ex)
        {
            await error.WriteLineAsync("kvm-udev-agent: the daemon's status is not understood (" + ex.Message + "); is it another version? Try --json").ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        if (report is null)
        {
            await error.WriteLineAsync("kvm-udev-agent: the daemon sent an empty status; try --json").ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        await output.WriteAsync(Format(report)).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    /// <summary>The human-readable status; golden-tested.</summary>
    public static string Format(StatusReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        CultureInfo c = CultureInfo.InvariantCulture;
        StatusCounters n = report.Counters;
        List<string> lines =
        [
            string.Create(c, $"kvm-udev-agent {report.Version}, pid {report.Pid}, up {FormatUptime(report.UptimeSeconds)} (since {report.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z){(report.DryRun ? ", dry run: acting on nothing" : "")}"),
            string.Create(c, $"source:  {report.Source}"),
            string.Create(c, $"rules:   {report.Rules} (generation {report.RulesGeneration})"),
            string.Create(c, $"events:  {n.Events} received, {n.Matched} matched, {n.Acted} acted, {n.Failed} failed, {n.Dropped} dropped{(n.Coalesced + n.QueueDropped > 0 ? $"; per device: {n.Coalesced} change events superseded, {n.QueueDropped} dropped from full queues" : "")}"),
            string.Create(c, $"audit:   {report.AuditDropped} records dropped{(report.AuditQueued > 0 ? $", {report.AuditQueued} waiting" : "")}{(report.AuditError is { } auditError ? "; syslog: " + auditError : "")}"),
            string.Create(c, $"state:   {report.Attachments} {(report.Attachments == 1 ? "attachment" : "attachments")}, {report.Mounts} {(report.Mounts == 1 ? "mount" : "mounts")}"),
        ];
        if (report.StateError is { } stateError)
        {
            lines.Add("state:   NOT SAVED: " + stateError);
        }

        return string.Join('\n', lines) + "\n";
    }

    private static string FormatUptime(double seconds)
    {
        TimeSpan t = TimeSpan.FromSeconds(Math.Max(0, Math.Floor(seconds)));
        CultureInfo c = CultureInfo.InvariantCulture;
        return t.TotalDays >= 1 ? string.Create(c, $"{(int)t.TotalDays}d {t.Hours}h {t.Minutes}m")
            : t.TotalHours >= 1 ? string.Create(c, $"{t.Hours}h {t.Minutes}m {t.Seconds}s")
            : t.TotalMinutes >= 1 ? string.Create(c, $"{t.Minutes}m {t.Seconds}s")
            : string.Create(c, $"{t.Seconds}s");
    }
}

/// <summary>Options of <c>status</c>.</summary>
internal sealed record StatusOptions(string SocketPath, bool Json);
