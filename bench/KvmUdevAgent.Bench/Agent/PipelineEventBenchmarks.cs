using System.Globalization;
using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Bench.EndToEnd;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Bench.Agent;

/// <summary>
/// The pipeline thread's work per event of the throughput run (issue 15): the bench's udev-format
/// <c>add</c> events of 256 fixture USB devices (parsed from their datagrams as the receive loop does),
/// each taken in turn through the device's idle queue, the tracker, the device view (USB cache on,
/// as in the daemon, warmed as the coldplug does) and the 1,000 rules of <see cref="ThroughputBenchmark"/>;
/// and the receive thread's parse of those datagrams.
/// Bytes per event are what the GC collects on that thread.
/// </summary>
[MemoryDiagnoser]
public class PipelineEventBenchmarks : IDisposable
{
    private const int Devices = 256;
    private static readonly Func<CancellationToken, Task> s_nothing = _ => Task.CompletedTask;
    private SysfsFixture _fixture = null!;
    private DeviceViewFactory _factory = null!;
    private DeviceTracker _tracker = null!;
    private RuleSet _rules = RuleSet.Empty;
    private KeyedSerialQueue _queue = null!;
    private Uevent[] _events = [];
    private byte[][] _datagrams = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new SysfsFixture();
        _events = new Uevent[Devices];
        _datagrams = new byte[Devices][];
        for (int k = 0; k < Devices; k++)
        {
            SysfsFixture.Node node = _fixture.UsbDevice(1 + (k / 100), $"{1 + (k % 100 / 10)}.{1 + (k % 10)}", "abcd", k.ToString("x4", CultureInfo.InvariantCulture))
                .Strings("Bench", "Stick", "S" + k.ToString("D6", CultureInfo.InvariantCulture))
                .Interface(0x08, 0x06, 0x50, "usb-storage")
                .Add().UsbDevice;
            byte[] datagram = UdevMessageWriter.Write(_fixture.UdevProperties(node, "add", (ulong)(10_000 + k)));
            if (!UeventParser.TryParse(datagram, UeventSource.Udev, 0, out Uevent? uevent, out RejectReason reason))
            {
                throw new InvalidOperationException(reason.ToString());
            }

            _events[k] = uevent;
            _datagrams[k] = datagram;
        }

        RuleLoadResult loaded = new RuleSetLoader(null, null).LoadTexts([("bench.yaml", ThroughputBenchmark.Rules())], 1);
        _rules = loaded.RuleSet ?? throw new InvalidOperationException(string.Join('\n', loaded.Diagnostics));
        _factory = new DeviceViewFactory(_fixture.Root, cacheUsbDevices: true);
        _tracker = new DeviceTracker();
        _queue = new KeyedSerialQueue();
        // The daemon has seen every device once (coldplug) before the run: the USB cache holds them.
        for (int k = 0; k < Devices; k++)
        {
            if (ObservePlan() != 1)
            {
                throw new InvalidOperationException("the event did not match the-one");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.Dispose();

    public void Dispose()
    {
        _fixture?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Description = "receive thread: parse the datagram into an event")]
    public Uevent? Parse()
    {
        UeventParser.TryParse(_datagrams[Next()], UeventSource.Udev, 0, out Uevent? uevent, out _);
        return uevent;
    }

    [Benchmark(Description = "idle device queue: enqueue an item that completes at once")]
    public int EnqueueIdle() => (int)_queue.Enqueue(_events[Next()].DevPath, s_nothing);

    [Benchmark(Description = "tracker + view + 1,000 rules (plan)")]
    public int ObservePlan()
    {
        ValueTask<int> task = ObservePlanAsync(_events[Next()], CancellationToken.None);
        return task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "per event: idle queue → tracker + view + 1,000 rules")]
    public int DispatchObservePlan()
    {
        Uevent uevent = _events[Next()];
        return (int)_queue.Enqueue(uevent.DevPath, ct => ObservePlanAsync(uevent, ct).AsTask());
    }

    private async ValueTask<int> ObservePlanAsync(Uevent uevent, CancellationToken cancellationToken)
    {
        RuleSet rules = _rules;
        if (!rules.MayMatch(uevent))
        {
            return 0;
        }

        DeviceObservation observation = await _tracker.ObserveAsync(uevent, _factory, cancellationToken, rules.NeedsFilesystemCheck).ConfigureAwait(false);
        return observation.View is { } view ? rules.Evaluate(view).Actions.Length : 0;
    }

    /// <summary>
    /// <c>pipeline-allocs</c>: bytes allocated per event by each step of <see cref="ObservePlan"/>
    /// (<see cref="GC.GetAllocatedBytesForCurrentThread"/> over 25,600 events after the warm-up).
    /// </summary>
    public static int PrintAllocations()
    {
        using var b = new PipelineEventBenchmarks();
        b.Setup();
        const int Rounds = 100 * Devices;
        Measure("UeventParser.TryParse (the receive thread's)", () => b.Parse());
        Measure("idle queue, item completes at once", () => b.EnqueueIdle());
        Measure("RuleSet.MayMatch", () => b._rules.MayMatch(b._events[b.Next()]));
        Measure("DeviceViewFactory.Create", () => b._factory.Create(b._events[b.Next()]));
        Measure("DeviceTracker.ObserveAsync (view included)", () => b._tracker.ObserveAsync(b._events[b.Next()], b._factory, CancellationToken.None, b._rules.NeedsFilesystemCheck).AsTask().Result);
        DeviceView[] views = [.. b._events.Select(e => b._factory.Create(e))];
        var matches = new RuleMatch[b._rules.Rules.Count];
        Measure("RuleSet.Match", () => b._rules.Match(views[b.Next()], matches));
        int n = b._rules.Match(views[0], matches);
        Measure("RuleSet.BuildPlan", () => b._rules.BuildPlan(views[b.Next()], matches.AsSpan(0, n)));
        Measure("PlanDevice.From", () => PlanDevice.From(views[b.Next()]));
        Measure("RuleSet.Evaluate", () => b._rules.Evaluate(views[b.Next()]));
        Measure("tracker + view + 1,000 rules (plan)", () => b.ObservePlan());
        Measure("per event: idle queue → tracker + view + 1,000 rules", () => b.DispatchObservePlan());
        // The daemon's events are new ones each time (nothing kept on the event from an earlier round):
        // the parse and the same steps on the fresh event, less the parse alone above.
        Measure("parse + MayMatch + tracker + view + 1,000 rules (fresh event)", () =>
        {
            Uevent fresh = b.Parse()!;
            ValueTask<int> task = b.ObservePlanAsync(fresh, CancellationToken.None);
            return task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
        });
        return 0;

        static void Measure<T>(string what, Func<T> step)
        {
            for (int i = 0; i < Devices; i++)
            {
                step();
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Rounds; i++)
            {
                step();
            }

            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Console.WriteLine($"{bytes / (double)Rounds,8:F1} B/event  {what}");
        }
    }

    private int Next()
    {
        int k = _next;
        _next = k + 1 == Devices ? 0 : k + 1;
        return k;
    }
}
