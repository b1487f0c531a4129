using BenchmarkDotNet.Running;
using KvmUdevAgent.Bench.Events;

// Measurements that are not BenchmarkDotNet micro-benchmarks are modes named by the first argument.
return args.FirstOrDefault() switch
{
    "netlink-throughput" => await NetlinkThroughput.RunAsync(args[1..]),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(UeventParserBenchmarks).Assembly).Run(args);
    return 0;
}
