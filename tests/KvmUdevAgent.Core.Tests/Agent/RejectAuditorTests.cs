using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Audit;

namespace KvmUdevAgent.Core.Tests.Agent;

public sealed class RejectAuditorTests
{
    [Fact]
    public void Check_NewDrops_OneRecordWithCountsPerReason()
    {
        var counters = new UeventSourceCounters();
        var writer = new CapturingAuditWriter();
        var auditor = new RejectAuditor(counters, writer);

        auditor.Check();
        Assert.Empty(writer.Records);

        counters.Rejected.Increment(RejectReason.Spoofed);
        counters.Rejected.Increment(RejectReason.Spoofed);
        counters.Rejected.Increment(RejectReason.BadMagic);
        auditor.Check();
        AuditRecord record = Assert.Single(writer.Records);
        Assert.Equal(AuditTypes.SourceReject, record.Type);
        Assert.Equal("2", record.Extra.Single(e => e.Key == "spoofed").Value);
        Assert.Equal("1", record.Extra.Single(e => e.Key == "badmagic").Value);
        Assert.Equal("dropped 3 netlink messages (BadMagic: 1, Spoofed: 2)", record.FormatMessage());

        auditor.Check();
        Assert.Single(writer.Records);
    }

    [Fact]
    public void Check_Flood_RateLimitedAndSuppressedCounted()
    {
        var counters = new UeventSourceCounters();
        var writer = new CapturingAuditWriter();
        var auditor = new RejectAuditor(counters, writer);
        for (int i = 0; i < 50; i++)
        {
            counters.Rejected.Increment(RejectReason.Spoofed);
            auditor.Check();
        }

        Assert.Equal(10, writer.Records.Count);
    }
}
