namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>The figures of one e2e run, printed as one table at the end (and pasted into bench/README.md).</summary>
internal sealed class Report
{
    private readonly List<(string Figure, string Agent, string Baseline, string Ratio, string Target, string Met)> _rows = [];
    private readonly List<string> _notes = [];

    /// <summary>systemd-udevd's idle RSS, measured in the latency section, shown beside the agent's in the footprint section.</summary>
    public long? UdevdIdleRssKiB { get; set; }

    public void Row(string figure, string agent, string baseline, string ratio, string target, bool? met) =>
        _rows.Add((figure, agent, baseline, ratio, target, met switch { true => "yes", false => "**no**", null => "-" }));

    public void Note(string note) => _notes.Add(note);

    public void Print(TextWriter output)
    {
        output.WriteLine();
        output.WriteLine("| Figure | Agent (NativeAOT daemon) | udevd + RUN script + socat | udevd ÷ agent | Target (agent) | Met |");
        output.WriteLine("|---|---|---|---|---|---|");
        foreach (var r in _rows)
        {
            output.WriteLine($"| {r.Figure} | {r.Agent} | {r.Baseline} | {r.Ratio} | {r.Target} | {r.Met} |");
        }

        output.WriteLine();
        foreach (string note in _notes)
        {
            output.WriteLine("- " + note);
        }
    }
}
