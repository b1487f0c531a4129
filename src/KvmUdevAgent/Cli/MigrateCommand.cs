using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Cli;

/// <summary>
/// <c>kvm-udev-agent migrate VM URI [--timeout S] [--return-path] [--json]</c>: live migration through
/// the daemon, which takes the agent's devices out first and follows the migration to its end.
/// Progress on a terminal as <c>virsh migrate --verbose</c> shows it.
/// </summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        Argument<string> vm = new("VM") { Description = "The VM's name in the configuration" };
        Argument<string> uri = new("URI") { Description = "Where to: tcp:HOST:PORT (the destination QEMU runs with -incoming tcp:0:PORT) or unix:/path" };
        Option<double?> timeout = new("--timeout") { Description = "Cancel the migration if it has not finished after S seconds (the VM stays here, running)", HelpName = "S" };
        Option<bool> returnPath = new("--return-path") { Description = "Turn on QEMU's return-path capability, so a destination that fails rolls the source back (enable it on the destination too)" };
        Option<string> socket = ControlClientOptions.CreateSocketOption();
        Option<bool> json = ControlClientOptions.CreateJsonOption();
        Command command = new("migrate", "Live-migrate a VM: the agent's devices leave it first, nothing is attached while it migrates, and a failed migration leaves it running here with its devices (root only; audited as vm.migrate)")
        {
            vm, uri, timeout, returnPath, socket, json,
        };
        command.SetAction((parseResult, cancellationToken) => InvokeAsync(
            parseResult.GetValue(socket)!, parseResult.GetValue(vm)!, parseResult.GetValue(uri)!, parseResult.GetValue(timeout), parseResult.GetValue(returnPath), parseResult.GetValue(json), cancellationToken));
        return command;
    }

    private static async Task<int> InvokeAsync(string socket, string vm, string uri, double? timeout, bool returnPath, bool json, CancellationToken cancellationToken)
    {
        if (timeout is { } t && (t <= 0 || double.IsNaN(t) || t > 7 * 24 * 3600))
        {
            await Console.Error.WriteLineAsync($"kvm-udev-agent migrate: --timeout must be a number of seconds greater than 0, not {t.ToString(CultureInfo.InvariantCulture)} (try: --timeout 300)").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var args = new JsonObject { ["vm"] = vm, ["uri"] = uri, ["return_path"] = returnPath };
        if (timeout is { } seconds)
        {
            args["timeout_seconds"] = seconds;
        }

        bool tty = !json && !Console.IsErrorRedirected;
        bool progressShown = false;
        void OnProgress(JsonElement value)
        {
            if (!tty || value.Deserialize(AgentJsonContext.Default.MigrationProgress) is not { } progress)
            {
                return;
            }

            Console.Error.Write("\r" + FormatProgress(progress) + "\u001b[K");
            progressShown = true;
        }

        // The daemon detaches first and then follows QEMU; its answer comes when the migration has
        // ended (or was cancelled at --timeout), so the wait is bounded by that plus a margin.
        TimeSpan wait = timeout is { } s2 ? TimeSpan.FromSeconds(s2 + 90) : Timeout.InfiniteTimeSpan;
        (int exitCode, JsonElement result) = await ControlClientCall.InvokeAsync(socket, ControlVerbs.Migrate, args, Console.Error, OnProgress, wait, cancellationToken).ConfigureAwait(false);
        if (progressShown)
        {
            await Console.Error.WriteLineAsync().ConfigureAwait(false);
        }

        if (exitCode != ExitCodes.Success)
        {
            return exitCode;
        }

        MigrationReport? report = result.Deserialize(AgentJsonContext.Default.MigrationReport);
        if (report is null)
        {
            return ExitCodes.Failure;
        }

        if (json)
        {
            await ControlClientCall.WriteJsonAsync(Console.Out, result).ConfigureAwait(false);
        }
        else if (report.Succeeded)
        {
            await Console.Out.WriteLineAsync(FormatDone(report)).ConfigureAwait(false);
        }

        if (!report.Succeeded)
        {
            await Console.Error.WriteLineAsync($"kvm-udev-agent: migration of {report.Vm} to {report.Uri} {report.Status}: {report.Error}; "
                + (report.Resumed ? "the VM was resumed and " : "the VM runs here and ")
                + "its devices are attached again").ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }

    /// <summary><c>Migration: [ 45 %]  57.0 MiB sent, 70.1 MiB remaining</c>.</summary>
    internal static string FormatProgress(MigrationProgress progress) =>
        string.Create(CultureInfo.InvariantCulture, $"Migration: [{progress.Percent,3} %]  {Mib(progress.TransferredBytes)} MiB sent, {Mib(progress.RemainingBytes)} MiB remaining ({progress.Status})");

    internal static string FormatDone(MigrationReport report) =>
        string.Create(CultureInfo.InvariantCulture, $"Migration: [100 %]  {report.Vm} migrated to {report.Uri} in {report.MigrateMs / 1000:0.00} s ({Mib(report.Progress?.TransferredBytes ?? 0)} MiB sent); {report.Detached.Count} agent device(s) detached first: {(report.Detached.Count == 0 ? "none" : string.Join(", ", report.Detached))}");

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);
}
