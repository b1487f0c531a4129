using BenchmarkDotNet.Running;
using KvmUdevAgent.Bench.EndToEnd;
using KvmUdevAgent.Bench.Events;

// Measurements that are not BenchmarkDotNet micro-benchmarks are modes named by the first argument.
return args.FirstOrDefault() switch
{
    "e2e" => await EndToEndBenchmark.RunAsync(args[1..]),
    "netlink-throughput" => await NetlinkThroughput.RunAsync(args[1..]),
    "netlink-hop" => await NetlinkHop.RunAsync(args[1..]),
    "libvirt-latency" => await KvmUdevAgent.Bench.Libvirt.LibvirtLatency.RunAsync(args[1..]),
    "on-demand-latency" => await KvmUdevAgent.Bench.Qemu.OnDemandLatency.RunAsync(args[1..]),
    "qmp-batch" => await KvmUdevAgent.Bench.Qemu.QmpBatchWakeups.RunAsync(args[1..]),
    "pipeline-allocs" => KvmUdevAgent.Bench.Agent.PipelineEventBenchmarks.PrintAllocations(),
    "guest-latency" => await KvmUdevAgent.Bench.Qemu.GuestLatency.RunAsync(args[1..]),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(UeventParserBenchmarks).Assembly).Run(args);
    return 0;
}
