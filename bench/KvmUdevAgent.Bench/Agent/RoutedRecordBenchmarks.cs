using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Bench.Agent;

/// <summary>
/// The <c>event.routed</c> record's rule and target (issue 15, audit on): the Linq joins
/// <c>EventPipeline.AuditRouted</c> made until the sixth round (<see cref="Linq"/>) against
/// <see cref="Plan.RuleNames"/> and <see cref="Plan.Describe"/>, for the throughput bench's plan (one
/// hook) and for a removal's three actions of two rules.
/// </summary>
[MemoryDiagnoser]
public class RoutedRecordBenchmarks
{
    private Plan _plan = null!;

    [Params(1, 3)]
    public int Actions { get; set; }

    [GlobalSetup]
    public void Setup() => _plan = Actions == 1
        ? new Plan(null!, [new PlannedHook("the-one", ["/bin/true", "S000123"], HookSpec.DefaultTimeout)], 1)
        : new Plan(null!, [new PlannedHook("flash", ["/usr/local/bin/notify-plug", "--gone", "--", "abcd:1234", "S000123"], HookSpec.DefaultTimeout), new PlannedDetach("flash", "winxp", AttachKind.UsbHost), new PlannedUnmount("backup", "BACKUP")], 1);

    [Benchmark(Baseline = true)]
    public int Linq() =>
        string.Join(',', _plan.Actions.Select(a => a.Rule).Distinct()).Length + string.Join("; ", _plan.Actions.Select(a => a.Describe())).Length;

    [Benchmark]
    public int Plan() => _plan.RuleNames().Length + _plan.Describe().Length;
}
