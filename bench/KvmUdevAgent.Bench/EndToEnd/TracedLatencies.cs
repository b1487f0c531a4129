namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// The latency bench's figures on QEMU's own clock (<see cref="QemuAttachTrace"/>), per contender, and
/// how many turns the trace could not time (not exactly one attach logged for the turn).
/// </summary>
internal sealed class TracedLatencies
{
    public List<double> Floor { get; } = [];

    public List<double> FloorWithUevent { get; } = [];

    public List<double> Agent { get; } = [];

    public List<double> Udev { get; } = [];

    public List<double> Floor2 { get; } = [];

    public List<double> FloorReacting { get; } = [];

    public List<double> AgentShare { get; } = [];

    public int Untimed { get; private set; }

    public void Add(List<double> samples, double? ms)
    {
        if (ms is { } v)
        {
            samples.Add(v);
        }
        else
        {
            Untimed++;
        }
    }
}
