using System.Diagnostics;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Audit;

public sealed class AuditRecordTests
{
    [Fact]
    public void Dispose_NotFinished_CommitsFailureNotCompleted()
    {
        var writer = new CapturingAuditWriter();
        using (new AuditRecord(writer, AuditTypes.DeviceAttach))
        {
        }

        AuditRecord record = Assert.Single(writer.Records);
        Assert.Equal(AuditOutcome.Failure, record.Outcome);
        Assert.Equal(AuditRecord.NotCompleted, record.Error);
        Assert.NotNull(record.LatencyMs);
    }

    [Fact]
    public void Dispose_EndTimestampSet_LatencyEndsThereNotAtTheCommit()
    {
        var writer = new CapturingAuditWriter();
        long start = Stopwatch.GetTimestamp();
        using (var record = new AuditRecord(writer, AuditTypes.EventRouted, start))
        {
            // A decision recorded later than it was made (the plan announced after QEMU's answer, issue 15).
            record.EndTimestamp = start + Stopwatch.Frequency / 4;
            record.Succeed();
        }

        Assert.Equal(250.0, Assert.Single(writer.Records).LatencyMs!.Value, precision: 6);
    }

    [Fact]
    public void Dispose_ExceptionThrownInside_StillCommitsFailure()
    {
        var writer = new CapturingAuditWriter();
        Assert.Throws<InvalidOperationException>(() => Attempt(writer));

        Assert.Equal(AuditOutcome.Failure, Assert.Single(writer.Records).Outcome);
    }

    private static void Attempt(IAuditWriter writer)
    {
        using var audit = new AuditRecord(writer, AuditTypes.DeviceMount);
        throw new InvalidOperationException("boom");
    }

    [Fact]
    public void Dispose_Twice_CommitsOnce()
    {
        var writer = new CapturingAuditWriter();
        var record = new AuditRecord(writer, AuditTypes.DeviceHook);
        record.Succeed();
        record.Dispose();
        record.Dispose();
        Assert.Single(writer.Records);
        Assert.Equal(AuditOutcome.Success, record.Outcome);
        Assert.Null(record.Error);
    }

    [Fact]
    public void Set_AfterCommit_Throws()
    {
        var record = new AuditRecord(new CapturingAuditWriter(), AuditTypes.DeviceAttach);
        record.Dispose();
        Assert.Throws<InvalidOperationException>(() => record.Serial = "x");
        Assert.Throws<InvalidOperationException>(() => record.Succeed());
        Assert.Throws<InvalidOperationException>(() => record.Set("k", "v"));
    }

    [Fact]
    public void Dispose_StartTimestampInThePast_MeasuresLatencyFromIt()
    {
        var writer = new CapturingAuditWriter();
        long start = Stopwatch.GetTimestamp() - Stopwatch.Frequency / 10; // 100 ms ago
        using (var audit = new AuditRecord(writer, AuditTypes.DeviceAttach, start))
        {
            audit.Succeed();
        }

        Assert.InRange(writer.Records[0].LatencyMs!.Value, 100, 60_000);
    }

    [Fact]
    public void Fail_WithError_KeepsError()
    {
        var writer = new CapturingAuditWriter();
        using (var audit = new AuditRecord(writer, AuditTypes.DeviceAttach))
        {
            audit.Fail(new IOException("monitor gone"));
        }

        Assert.Equal("monitor gone", writer.Records[0].Error);
    }

    [Fact]
    public void WithEventAndIdentity_CopyFields()
    {
        var uevent = Uevent.Create(UeventSource.Kernel, [new("ACTION", "add"), new("DEVPATH", "/devices/pci0000:00/usb2/2-1"), new("SUBSYSTEM", "usb"), new("SEQNUM", "4711")]);
        Assert.True(UsbId.TryParse("058f", out UsbId vendor, out _));
        Assert.True(UsbId.TryParse("6387", out UsbId product, out _));
        var writer = new CapturingAuditWriter();
        using (var audit = new AuditRecord(writer, AuditTypes.DeviceAttach).WithEvent(uevent).WithIdentity(new DeviceIdentity { Vendor = vendor, Product = product, Serial = "576B63C4", FsLabel = "STICK" }))
        {
            audit.Action = "attach";
            audit.Target = "winxp";
            audit.Rule = "flash-to-winxp";
            audit.Succeed();
        }

        AuditRecord r = writer.Records[0];
        Assert.Equal((4711UL, "add", "/devices/pci0000:00/usb2/2-1", "usb"), (r.Seq!.Value, r.Event, r.DevPath, r.Subsystem));
        Assert.Equal(("058f", "6387", "576B63C4", "STICK"), (r.Vendor, r.Product, r.Serial, r.Label));
        Assert.Matches(@"^attach 058f:6387 serial=576B63C4 label=STICK to winxp \(rule flash-to-winxp\): success in \d+\.\d ms$", r.FormatMessage());
    }

    [Fact]
    public void WithEvent_Coldplug_WritesColdplug()
    {
        var uevent = Uevent.Create(UeventSource.Kernel, [new("ACTION", "add"), new("DEVPATH", "/devices/x"), new("SUBSYSTEM", "block")], coldplug: true);
        var record = new AuditRecord(new CapturingAuditWriter(), AuditTypes.EventRouted).WithEvent(uevent);
        Assert.Equal("coldplug", record.Event);
        Assert.Null(record.Seq);
    }

    [Fact]
    public void Set_InvalidUtf8Bytes_BecomeReplacementCharacter()
    {
        var record = new AuditRecord(new CapturingAuditWriter(), AuditTypes.DeviceHook).Set("stdout", [0x61, 0xFF, 0xC3, 0x62]);
        Assert.Equal("a\uFFFD\uFFFDb", record.Extra[0].Value);
    }

    [Fact]
    public void ToMessage_Record_HasAllFixedKeysInOrderAndSeverityFromOutcome()
    {
        var writer = new CapturingAuditWriter();
        using (var audit = new AuditRecord(writer, AuditTypes.DeviceDetach))
        {
            audit.Set("exit_status", 3);
        }

        SyslogMessage message = AuditSink.ToMessage(writer.Records[0]);
        Assert.Equal(SyslogSeverity.Error, message.Severity);
        Assert.Equal(AuditTypes.DeviceDetach, message.MsgId);
        Assert.Equal(AuditKeys.All, message.Elements[0].Params.Select(p => p.Key));
        Assert.Equal(AuditSink.ExtraSdName, message.Elements[1].Name);
        Assert.Equal("3", message.Elements[1].Params[0].Value);
    }
}
