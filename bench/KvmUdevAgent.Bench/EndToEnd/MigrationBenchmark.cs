using System.Diagnostics;
using System.Text.Json;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// Issue 10: what a migration through <c>kvm-udev-agent migrate</c> of a VM holding one agent drive
/// costs beside a plain QEMU migration of the same VM without it. Each round, two running TCG VMs
/// (<c>q35</c>, 128 MiB, SeaBIOS idle after 2 s) migrate to fresh <c>-incoming unix:</c> destinations on this
/// host: the plain one by the harness's own QMP <c>migrate</c>, timed to the <c>MIGRATION</c>
/// <c>completed</c> event; the agent's (a loop device attached read-only as <c>usb-storage</c> by the
/// daemon) by the CLI, timed from process start to exit, with the daemon's own split
/// (detach, migrate) from <c>--json</c>. The agent's source QEMU is restarted each round and the
/// daemon attaches the drive again before the next round.
/// </summary>
internal static class MigrationBenchmark
{
    private static readonly TimeSpan s_settleTime = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(string agentBinary, int rounds, Report report)
    {
        Console.WriteLine($"== migration: {rounds} rounds each, plain QEMU migrate / kvm-udev-agent migrate with one drive, load {ProcStatus.LoadAverage()}");
        string token = "kua" + Guid.NewGuid().ToString("N")[..10] + "m";
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        using QemuProcess agentSource = await QemuProcess.StartAsync(new QemuOptions { StartPaused = false });
        await using BenchWorkspace ws = await BenchWorkspace.CreateAsync(syslog: false);
        ws.WriteRules($$"""
            rules:
              - name: bench-migration
                match:
                  subsystem: block
                  kernel: "{{loop.Name}}"
                attach: { vm: winxp, as: usb-storage, read_only: true }
            """);
        ws.WriteConfig("kernel", "/sys", new Dictionary<string, string> { ["winxp"] = agentSource.QmpSocket! });
        await using BenchDaemon daemon = BenchDaemon.Start(agentBinary, ws.ConfigPath, ws.Work, privateNetwork: true);
        await daemon.WaitReadyAsync();
        await daemon.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
        // Matched by kernel name, not by a synthetic event's property: on this shared machine the
        // daemon sees SEQNUM gaps and resynchronises from sysfs, where such a property is gone.
        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));

        var plain = new List<double>();
        var agentWall = new List<double>();
        var agentDetach = new List<double>();
        var agentMigrate = new List<double>();
        const int Warmup = 1;
        for (int i = -Warmup; i < rounds; i++)
        {
            double plainMs = await PlainOnceAsync();
            (double wall, double detach, double migrate) = await AgentOnceAsync(agentBinary, agentSource, ws.ControlSocket, restart: i > -Warmup, () => daemon.Log);
            if (i >= 0)
            {
                plain.Add(plainMs);
                agentWall.Add(wall);
                agentDetach.Add(detach);
                agentMigrate.Add(migrate);
            }
        }

        Print("plain QEMU migrate (no drive)", plain);
        Print("kvm-udev-agent migrate, one drive (CLI)", agentWall);
        Print("  of which: detach the drive", agentDetach);
        Print("  of which: migrate → completed", agentMigrate);
        double p = Stats.Median(plain), a = Stats.Median(agentWall);
        report.Row("Migration of an idle 128 MiB VM, p50 (ms): agent with one drive (CLI start → exit) / plain QEMU migrate without one", Stats.F(a), Stats.F(p), $"{Stats.F(a / p, "F2")}× (agent ÷ plain)", "-", null);
        report.Row("… of which in the daemon: detach the drive / migrate → completed, p50 (ms)", $"{Stats.F(Stats.Median(agentDetach))} / {Stats.F(Stats.Median(agentMigrate))}", "-", "-", "-", null);
    }

    /// <summary>A fresh source and destination; QMP migrate from the harness; time to the completed event.</summary>
    private static async Task<double> PlainOnceAsync()
    {
        string incoming = IncomingPath();
        using QemuProcess source = await QemuProcess.StartAsync(new QemuOptions { StartPaused = false });
        using QemuProcess destination = await QemuProcess.StartAsync(new QemuOptions { StartPaused = false, IncomingUnixSocket = incoming });
        try
        {
            // Let SeaBIOS finish, as the agent's source has by the time its drive is attached: a
            // guest still writing to its RAM makes the migration send more.
            await Task.Delay(s_settleTime);
            await using HarnessQmp qmp = await HarnessQmp.ConnectAsync(source);
            await MigrationCommands.EnableCapabilitiesAsync(qmp.Connection, [MigrationCommands.EventsCapability], CancellationToken.None);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Task<QmpEvent> done = qmp.Connection.WaitForEvent(e => e.Name == MigrationStatuses.MigrationEvent && e.Data.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", timeout.Token);
            long t0 = Stopwatch.GetTimestamp();
            await qmp.Connection.ExecuteAsync(MigrationCommands.Migrate, w => w.WriteString("uri", "unix:" + incoming), CancellationToken.None);
            QmpEvent end = await done;
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            return end.Data.GetProperty("status").GetString() == "completed" ? ms : throw new InvalidOperationException("the plain migration ended " + end.Data.GetRawText());
        }
        finally
        {
            File.Delete(incoming);
        }
    }

    private static async Task<(double Wall, double Detach, double Migrate)> AgentOnceAsync(string agentBinary, QemuProcess source, string controlSocket, bool restart, Func<string> daemonLog)
    {
        if (restart)
        {
            // The last round sent the VM away: a new QEMU on the same monitor is a new VM, and the
            // daemon attaches the (still present) drive to it when it connects.
            await source.RestartAsync();
        }

        await using (HarnessQmp qmp = await HarnessQmp.ConnectAsync(source))
        {
            if (await qmp.PollUntilAsync("kua-", names => names.Count == 1, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20)) is null)
            {
                throw new InvalidOperationException("the daemon did not attach the drive to the source within 30 s; its log:\n" + daemonLog());
            }
        }

        await Task.Delay(s_settleTime);
        string incoming = IncomingPath();
        using QemuProcess destination = await QemuProcess.StartAsync(new QemuOptions { StartPaused = false, IncomingUnixSocket = incoming });
        try
        {
            var start = new ProcessStartInfo(agentBinary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string arg in (string[])["migrate", "winxp", "unix:" + incoming, "--json", "--control-socket", controlSocket])
            {
                start.ArgumentList.Add(arg);
            }

            long t0 = Stopwatch.GetTimestamp();
            using Process cli = Process.Start(start) ?? throw new InvalidOperationException("could not start " + agentBinary);
            Task<string> stdout = cli.StandardOutput.ReadToEndAsync();
            Task<string> stderr = cli.StandardError.ReadToEndAsync();
            await cli.WaitForExitAsync();
            double wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (cli.ExitCode != 0)
            {
                throw new InvalidOperationException($"kvm-udev-agent migrate exited {cli.ExitCode}: {await stderr}");
            }

            using JsonDocument result = JsonDocument.Parse(await stdout);
            return (wall, result.RootElement.GetProperty("detach_ms").GetDouble(), result.RootElement.GetProperty("migrate_ms").GetDouble());
        }
        finally
        {
            File.Delete(incoming);
        }
    }

    private static string IncomingPath() => Path.Combine(Path.GetTempPath(), "kua-bench-mig-" + Guid.NewGuid().ToString("N")[..12] + ".sock");

    private static void Print(string name, List<double> samples) =>
        Console.WriteLine($"  {name,-42} n={samples.Count,3} p50={Stats.F(Stats.Median(samples))} min={Stats.F(samples.DefaultIfEmpty(double.NaN).Min())} max={Stats.F(samples.DefaultIfEmpty(double.NaN).Max())} ms");
}
