namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// <c>sudo bench/run.sh [--quick] [--only footprint,latency,storm,throughput]</c> (which publishes the
/// NativeAOT daemon and runs <c>dotnet run -c Release --project bench/KvmUdevAgent.Bench -- e2e --agent BINARY</c>):
/// the four end-to-end figures of issue 7 beside the udevd + RUN-script baseline, in one run, then
/// one Markdown table (the one in bench/README.md).
/// </summary>
internal static class EndToEndBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        bool quick = args.Contains("--quick");
        string? agent = Value(args, "--agent") ?? Environment.GetEnvironmentVariable("KUA_AOT_BINARY");
        if (agent is null || !File.Exists(agent))
        {
            Console.Error.WriteLine("e2e: the NativeAOT daemon is needed: --agent PATH (bench/run.sh publishes it)");
            return 2;
        }

        if (Environment.UserName != "root")
        {
            Console.Error.WriteLine("e2e: needs root (loop devices, netlink injection in a private network namespace, udevd in a private mount namespace): run sudo bench/run.sh");
            return 2;
        }

        HashSet<string> only = [.. (Value(args, "--only") ?? "footprint,latency,storm,throughput").Split(',')];
        var report = new Report();
        report.Note($"Machine: {Environment.ProcessorCount} CPUs; load average at start {ProcStatus.LoadAverage()}; mode {(quick ? "--quick" : "full")}.");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Latency first: it also measures the private udevd's idle RSS for the footprint row.
        if (only.Contains("latency"))
        {
            await LatencyBenchmark.RunAsync(agent, quick ? 50 : 200, quick ? 2 : 3, report);
        }

        if (only.Contains("storm"))
        {
            await StormBenchmark.RunAsync(agent, 500, quick ? 1 : 3, report);
        }

        if (only.Contains("throughput"))
        {
            await ThroughputBenchmark.RunAsync(agent, 100_000, Environment.GetEnvironmentVariable("KUA_BENCH_RUNS") is { } r ? int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : quick ? 2 : 5, report);
        }

        // Not in the default set: it is issue 10's figure, run with --only migration.
        if (only.Contains("migration"))
        {
            await MigrationBenchmark.RunAsync(agent, quick ? 3 : 10, report);
        }

        if (only.Contains("footprint"))
        {
            await FootprintBenchmark.RunAsync(agent, quick ? 3 : 7, report);
        }

        report.Note($"Load average at end {ProcStatus.LoadAverage()}; the run took {clock.Elapsed.TotalSeconds:F0} s.");
        report.Print(Console.Out);
        return 0;
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
