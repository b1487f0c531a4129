using System.Diagnostics;
using KvmUdevAgent.Core.Audit;

namespace KvmUdevAgent.Core.Tests.Audit;

public sealed class AuditRateLimiterTests
{
    [Fact]
    public void TryAcquire_OverLimit_SuppressesAndReportsCountInNextWindow()
    {
        var limiter = new AuditRateLimiter(2, TimeSpan.FromSeconds(10));
        long t0 = 1_000;
        Assert.True(limiter.TryAcquire(t0, out long s1));
        Assert.True(limiter.TryAcquire(t0 + 1, out long s2));
        Assert.False(limiter.TryAcquire(t0 + 2, out _));
        Assert.False(limiter.TryAcquire(t0 + 3, out _));
        Assert.False(limiter.TryAcquire(t0 + 4, out _));
        Assert.Equal(3, limiter.Pending);
        Assert.True(limiter.TryAcquire(t0 + (10 * Stopwatch.Frequency), out long reported));
        Assert.Equal((0L, 0L, 3L), (s1, s2, reported));
        Assert.Equal(0, limiter.Pending);
    }

    [Fact]
    public void TryAcquire_ManyThreads_LetsThroughExactlyLimit()
    {
        var limiter = new AuditRateLimiter(5, TimeSpan.FromHours(1));
        int allowed = 0;
        Parallel.For(0, 1000, _ =>
        {
            if (limiter.TryAcquire(42, out _))
            {
                Interlocked.Increment(ref allowed);
            }
        });
        Assert.Equal(5, allowed);
        Assert.Equal(995, limiter.Pending);
    }
}
