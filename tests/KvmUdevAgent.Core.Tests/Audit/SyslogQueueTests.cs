using KvmUdevAgent.Core.Audit;

namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>Delivery when syslog is absent or restarts; each test owns its rsyslogd so it can stop and start it.</summary>
public sealed class SyslogQueueTests
{
    private static void WriteRecords(IAuditWriter sink, string token, int from, int count)
    {
        for (int i = from; i < from + count; i++)
        {
            using var record = new AuditRecord(sink, AuditTypes.EventRouted) { Seq = (ulong)i, Rule = token };
            record.Succeed();
        }
    }

    private static List<int> Seqs(IEnumerable<ReceivedSyslogMessage> messages) =>
        messages.Select(m => int.Parse(m.Element("kua@32473")["seq"], System.Globalization.CultureInfo.InvariantCulture)).ToList();

    [Fact]
    public async Task Write_SocketAbsent_NeverBlocksCountsDropsAndDeliversQueuedWhenSyslogComesBack()
    {
        await using RsyslogServer rsyslog = await RsyslogServer.StartAsync();
        await rsyslog.StopAsync();
        File.Delete(rsyslog.SocketPath); // ENOENT from now on, like a host without syslog
        string token = Guid.NewGuid().ToString("N");
        const int Capacity = 16, Written = 1000;
        await using AuditSink sink = AuditTestSupport.Sink(rsyslog.UnixTarget, Capacity);

        // Write returns without waiting for delivery: 1000 writes against a dead socket finish at once.
        await Task.Run(() => WriteRecords(sink, token, 0, Written)).WaitAsync(AuditTestSupport.Timeout);

        SyslogQueueStatus status = sink.Status;
        Assert.Equal(Written, status.Enqueued);
        Assert.Equal(0, status.Sent);
        Assert.InRange(status.Dropped, Written - Capacity - 1, Written - Capacity);
        Assert.Equal(Written - status.Dropped, status.Queued);
        await AuditTestSupport.WaitUntilAsync(() => sink.Status.SendFailures > 0, AuditTestSupport.Timeout);
        Assert.Equal($"syslog socket {rsyslog.SocketPath} does not exist (no syslog daemon listening)", sink.Status.LastError);

        await rsyslog.StartAgainAsync();
        Assert.True(await sink.FlushAsync(AuditTestSupport.Timeout));
        var delivered = await rsyslog.WaitForAsync(m => m.Raw.Contains(token, StringComparison.Ordinal), Written - (int)status.Dropped, AuditTestSupport.Timeout);
        // Drop newest: the first records of the outage are kept, in order; a later one may slip in when the worker frees a slot.
        List<int> seqs = Seqs(delivered);
        Assert.Equal(Written - (int)status.Dropped, seqs.Count);
        Assert.Equal(Enumerable.Range(0, Capacity), seqs.Take(Capacity));
        Assert.True(seqs.SequenceEqual(seqs.Order()), string.Join(",", seqs));

        ReceivedSyslogMessage notice = (await rsyslog.WaitForAsync(m => m.MsgId == AuditTypes.AuditDropped, 1, AuditTestSupport.Timeout))[0];
        Assert.Equal(status.Dropped.ToString(System.Globalization.CultureInfo.InvariantCulture), notice.Element("kua.x@32473")[AuditKeys.Dropped]);
        Assert.Equal("<164>", $"<{notice.Pri}>"); // local4.warning
        Assert.Null(sink.Status.LastError);
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("unix")]
    public async Task Write_RsyslogRestarts_ReconnectsAndLosesNothing(string transport)
    {
        await using RsyslogServer rsyslog = await RsyslogServer.StartAsync();
        string token = Guid.NewGuid().ToString("N");
        await using AuditSink sink = AuditTestSupport.Sink(transport == "tcp" ? rsyslog.TcpTarget : rsyslog.UnixTarget);

        WriteRecords(sink, token, 0, 5);
        await rsyslog.WaitForAsync(m => m.Raw.Contains(token, StringComparison.Ordinal), 5, AuditTestSupport.Timeout);
        int firstPid = rsyslog.Pid!.Value;

        await rsyslog.StopAsync();
        WriteRecords(sink, token, 5, 5);   // while it is down: held and retried
        await rsyslog.StartAgainAsync();
        Assert.NotEqual(firstPid, rsyslog.Pid);
        WriteRecords(sink, token, 10, 5);  // after it is back

        Assert.True(await sink.FlushAsync(AuditTestSupport.Timeout));
        var all = await rsyslog.WaitForAsync(m => m.Raw.Contains(token, StringComparison.Ordinal), 15, AuditTestSupport.Timeout);
        Assert.Equal(Enumerable.Range(0, 15), Seqs(all));
        Assert.Equal(0, sink.Status.Dropped);
        Assert.Equal(15, sink.Status.Sent);
    }

    [Fact]
    public async Task DisposeAsync_SyslogDead_GivesUpAfterDrainTimeoutAndCountsRest()
    {
        string path = Path.Combine(Path.GetTempPath(), "kua-no-syslog-" + Guid.NewGuid().ToString("N"), "log.sock");
        AuditSettings settings = AuditTestSupport.Settings("unix:" + path);
        var queue = new SyslogQueue(SyslogTransports.Create(settings.Endpoint), settings.CreateFormatter(), "unix:" + path, 8, drainTimeout: TimeSpan.FromMilliseconds(200));
        var sink = new AuditSink(queue);
        WriteRecords(sink, "x", 0, 5);
        await sink.DisposeAsync().AsTask().WaitAsync(AuditTestSupport.Timeout);
        Assert.Equal((5L, 0L, 5L, 0), (queue.Status.Enqueued, queue.Status.Sent, queue.Status.Dropped, queue.Status.Queued));

        WriteRecords(sink, "x", 5, 1); // after disposal: dropped, no exception
        Assert.Equal(6, queue.Status.Dropped);
    }
}
