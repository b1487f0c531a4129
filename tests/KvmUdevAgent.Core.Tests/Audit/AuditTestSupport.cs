using System.Text;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Tests.Audit;

internal static class AuditTestSupport
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static AuditSettings Settings(string target)
    {
        Assert.True(AuditSettings.TryCreate(new AuditConfig { Syslog = target, Facility = "local4", AppName = "kua-test" }, out AuditSettings? settings, out string? reason), reason);
        return settings;
    }

    /// <summary>
    /// A sink with short backoff so tests see reconnects quickly. Its disposal drains for up to
    /// <see cref="Timeout"/>, not the agent's 250 ms stop-time drain: these tests write, dispose and
    /// then look in rsyslog's file, and under load a first 64 KiB message (formatting code not yet
    /// run, a TCP connect) can take longer than 250 ms to go out, which dropped it on a CI run. The
    /// bounded drain has its own test (<c>DisposeAsync_SyslogDead_GivesUpAfterDrainTimeoutAndCountsRest</c>);
    /// a dead socket still ends the drain at its first failed send.
    /// </summary>
    public static AuditSink Sink(string target, int capacity = SyslogQueue.DefaultCapacity)
    {
        AuditSettings settings = Settings(target);
        return new AuditSink(new SyslogQueue(
            SyslogTransports.Create(settings.Endpoint),
            settings.CreateFormatter(),
            target,
            capacity,
            AuditSink.DropNotice,
            minBackoff: TimeSpan.FromMilliseconds(20),
            maxBackoff: TimeSpan.FromMilliseconds(250),
            drainTimeout: Timeout));
    }

    /// <summary>Polls <paramref name="condition"/> until true; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"condition not met within {timeout.TotalSeconds} s");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>What the formatter does to MSG text: control characters as \xHH.</summary>
    public static string EscapeControls(string text)
    {
        var sb = new StringBuilder();
        foreach (Rune r in text.EnumerateRunes())
        {
            if (r.Value < 0x20 || r.Value == 0x7F || (r.Value >= 0x80 && r.Value <= 0x9F))
            {
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{r.Value:x2}");
            }
            else
            {
                sb.Append(r.ToString());
            }
        }

        return sb.ToString();
    }
}
