using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

public sealed class SequenceTrackerTests
{
    [Fact]
    public void Observe_FirstThenConsecutive_NoGap()
    {
        var t = new SequenceTracker();
        Assert.Equal(0UL, t.Observe(100));
        Assert.Equal(0UL, t.Observe(101));
        Assert.Equal(101UL, t.Last);
    }

    [Fact]
    public void Observe_Jump_ReturnsSkippedCount()
    {
        var t = new SequenceTracker();
        t.Observe(100);
        Assert.Equal(4UL, t.Observe(105));
        Assert.Equal(0UL, t.Observe(106));
    }

    [Fact]
    public void Observe_MissingOrBackwards_IgnoredWithoutMovingMark()
    {
        var t = new SequenceTracker();
        t.Observe(100);
        Assert.Equal(0UL, t.Observe(0));
        Assert.Equal(0UL, t.Observe(90));
        Assert.Equal(0UL, t.Observe(100));
        Assert.Equal(100UL, t.Last);
        Assert.Equal(1UL, t.Observe(102));
    }
}
