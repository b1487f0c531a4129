using System.Diagnostics;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// A moment on both clocks: the harness's (<see cref="Stopwatch"/>, monotonic) and the wall clock
/// QEMU's trace uses, read back to back at the start of a turn, so that a traced time converts to the
/// harness's clock over no more than the turn itself.
/// </summary>
internal readonly record struct TraceAnchor(long Ticks, DateTime Wall)
{
    public static TraceAnchor Now()
    {
        long ticks = Stopwatch.GetTimestamp();
        return new TraceAnchor(ticks, DateTime.UtcNow);
    }

    /// <summary>Milliseconds from this moment to <paramref name="wall"/>.</summary>
    public double MillisecondsTo(DateTime wall) => (wall - Wall).TotalMilliseconds;

    /// <summary>Milliseconds from <paramref name="ticks"/> (the harness's clock, after this moment) to <paramref name="wall"/>.</summary>
    public double MillisecondsTo(DateTime wall, long ticks) => MillisecondsTo(wall) - Stopwatch.GetElapsedTime(Ticks, ticks).TotalMilliseconds;
}
