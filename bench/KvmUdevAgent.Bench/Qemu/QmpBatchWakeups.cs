using System.Diagnostics;
using System.Globalization;
using KvmUdevAgent.Bench.EndToEnd;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.Qemu;

/// <summary>
/// What the agent's QMP client costs around one attach (issue 15, third round): <c>blockdev-add</c>
/// and <c>device_add usb-storage</c> of a loop device written in one batch to a paused QEMU, timed
/// from the write to the code awaiting both answers resuming, with the thread-pool work items and
/// the process's CPU time that took; the device is removed after each round, 2 ms apart (the pool
/// idles in between, as between plugs).
/// Run: <c>sudo dotnet bench/KvmUdevAgent.Bench/bin/Release/net10.0/KvmUdevAgent.Bench.dll qmp-batch [N]</c>
/// </summary>
internal static class QmpBatchWakeups
{
    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 300;
        string dir = Directory.CreateTempSubdirectory("kua-bench-qmpbatch-").FullName;
        try
        {
            string socket = Path.Combine(dir, "floor.qmp");
            using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions { ExtraArguments = FloorQmp.Arguments(socket) });
            await using LoopDevice loop = await LoopDevice.CreateAsync();
            await using FloorQmp qmp = await FloorQmp.ConnectAsync(socket);
            var ms = new List<double>();
            var items = new List<double>();
            var cpu = new List<double>();
            for (int i = -50; i < rounds; i++)
            {
                string id = "qb" + (i + 50).ToString(CultureInfo.InvariantCulture);
                Thread.Sleep(2);
                long work0 = ThreadPool.CompletedWorkItemCount;
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                long answered = await qmp.AttachAsync(id, loop.DevicePath);
                long work1 = ThreadPool.CompletedWorkItemCount;
                TimeSpan cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
                if (i >= 0)
                {
                    ms.Add(Stopwatch.GetElapsedTime(t0, answered).TotalMilliseconds);
                    items.Add(work1 - work0);
                    cpu.Add((cpu1 - cpu0).TotalMilliseconds);
                }

                await qmp.DetachAsync(id);
            }

            Console.WriteLine($"qmp-batch: {rounds} attaches, load {File.ReadAllText("/proc/loadavg").Trim()}");
            Console.WriteLine($"  write → both answers awaited: p50 {Stats.F(Stats.Percentile(ms, 50))} p90 {Stats.F(Stats.Percentile(ms, 90))} p99 {Stats.F(Stats.Percentile(ms, 99))} ms");
            Console.WriteLine($"  thread-pool work items per attach: mean {items.Average():F2}, p50 {Stats.Percentile(items, 50):F0}, p90 {Stats.Percentile(items, 90):F0}");
            Console.WriteLine($"  process CPU per attach: mean {cpu.Average():F3} ms");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
