using System.Diagnostics;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// Lets at most <c>limit</c> records of one kind through per interval (e.g. <c>source.reject</c>
/// under a flood of spoofed messages) and counts the rest. The first record let through after
/// suppression reports how many were suppressed since the previous one (write it as the
/// <see cref="AuditKeys.Suppressed"/> extra). A flood that stops is therefore reported at the next
/// record of that kind, not on a timer. Thread-safe. One instance per kind (and reason, if wanted).
/// </summary>
internal sealed class AuditRateLimiter
{
    private readonly int _limit;
    private readonly long _intervalTicks;
    private readonly Lock _lock = new();
    private long _windowStart;
    private int _inWindow;
    private long _suppressed;
    private bool _started;

    public AuditRateLimiter(int limit, TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _limit = limit;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Total suppressed so far and not yet reported.</summary>
    public long Pending
    {
        get
        {
            lock (_lock)
            {
                return _suppressed;
            }
        }
    }

    /// <summary>
    /// True when a record may be written now (<paramref name="timestamp"/> from <see cref="Stopwatch.GetTimestamp"/>);
    /// then <paramref name="suppressed"/> is the number refused since the last one let through.
    /// </summary>
    public bool TryAcquire(long timestamp, out long suppressed)
    {
        lock (_lock)
        {
            if (!_started || timestamp - _windowStart >= _intervalTicks)
            {
                _started = true;
                _windowStart = timestamp;
                _inWindow = 0;
            }

            if (_inWindow < _limit)
            {
                _inWindow++;
                suppressed = _suppressed;
                _suppressed = 0;
                return true;
            }

            _suppressed++;
            suppressed = 0;
            return false;
        }
    }

    /// <inheritdoc cref="TryAcquire(long, out long)"/>
    public bool TryAcquire(out long suppressed) => TryAcquire(Stopwatch.GetTimestamp(), out suppressed);
}
