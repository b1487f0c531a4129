namespace KvmUdevAgent.Core.Agent;

/// <summary>Running counts for <c>status</c>; updated from any thread.</summary>
internal sealed class AgentCounters
{
    private long _events;
    private long _matched;
    private long _acted;
    private long _failed;
    private long _resyncs;

    public long Events => Interlocked.Read(ref _events);

    public long Matched => Interlocked.Read(ref _matched);

    public long Acted => Interlocked.Read(ref _acted);

    public long Failed => Interlocked.Read(ref _failed);

    public long Resyncs => Interlocked.Read(ref _resyncs);

    public void Event() => Interlocked.Increment(ref _events);

    public void Match() => Interlocked.Increment(ref _matched);

    public void Act() => Interlocked.Increment(ref _acted);

    public void Fail() => Interlocked.Increment(ref _failed);

    public void Resync() => Interlocked.Increment(ref _resyncs);
}
