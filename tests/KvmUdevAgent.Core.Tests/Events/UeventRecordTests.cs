using System.Text;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

public sealed class UeventRecordTests
{
    private static Uevent Parse(byte[] datagram) =>
        UeventParser.TryParse(datagram, UeventSource.Udev, System.Diagnostics.Stopwatch.GetTimestamp(), out Uevent? e, out RejectReason r) ? e : throw new InvalidOperationException(r.ToString());

    [Fact]
    public void WriteThenRead_NonUtf8AndDuplicates_EveryByteSurvives()
    {
        byte[] props = [.. "ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0ID_FS_LABEL="u8, 0xff, 0x80, (byte)'a', 0, .. "A=1\0A=\0K\u00e9Y=\u00e9\0"u8];
        Uevent original = Parse(UdevMessageWriter.WriteRaw(props));
        var stream = new MemoryStream();
        using (var writer = new UeventRecordWriter(stream, ownsStream: false))
        {
            writer.Write(original);
            writer.Write(original);
        }

        string text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("\"value_base64\":\"/4Bh\"", text);
        Assert.Equal(2, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        UeventRecord[] records = [.. UeventRecordReader.Read(new StringReader(text), "rec.jsonl")];
        Assert.Equal(2, records.Length);
        UeventRecord record = records[0];
        Assert.Equal(UeventSource.Udev, record.Source);
        Assert.Equal(UeventSource.Replay, record.Event.Source);
        Assert.NotNull(record.Time);
        Assert.Equal(original.PropertyCount, record.Event.PropertyCount);
        for (int i = 0; i < original.PropertyCount; i++)
        {
            original.GetProperty(i, out var k1, out var v1);
            record.Event.GetProperty(i, out var k2, out var v2);
            Assert.Equal(k1.ToArray(), k2.ToArray());
            Assert.Equal(v1.ToArray(), v2.ToArray());
        }

        Assert.Equal(UeventAction.Add, record.Event.Action);
    }

    [Fact]
    public void ToJson_Coldplug_KeepsFlagAndOrder()
    {
        Uevent e = Uevent.Create(UeventSource.Sysfs, [new("ACTION", "add"), new("DEVPATH", "/devices/y"), new("SUBSYSTEM", "usb")], coldplug: true);
        string json = UeventRecordWriter.ToJson(e);
        Assert.StartsWith("{\"source\":\"sysfs\",\"coldplug\":true,\"time\":", json);
        Assert.EndsWith("\"properties\":[{\"key\":\"ACTION\",\"value\":\"add\"},{\"key\":\"DEVPATH\",\"value\":\"/devices/y\"},{\"key\":\"SUBSYSTEM\",\"value\":\"usb\"}]}", json);
        Assert.True(UeventRecordReader.TryParseLine(json, out UeventRecord? r, out _));
        Assert.True(r.Event.Coldplug);
    }

    [Theory]
    [InlineData("not json", "not a record: ")]
    [InlineData("{\"source\":\"udev\"}", "not a record: no \"properties\" array")]
    [InlineData("{\"properties\":[{\"key\":\"A\"}]}", "property 1: expected \"key\" (or \"key_base64\") and \"value\" (or \"value_base64\")")]
    [InlineData("{\"properties\":[{\"key\":\"A=B\",\"value\":\"1\"}]}", "property 1: the key must be non-empty without '=' or NUL, the value without NUL")]
    public void TryParseLine_Bad_SaysWhy(string line, string expectedStart)
    {
        Assert.False(UeventRecordReader.TryParseLine(line, out _, out string? error));
        Assert.StartsWith(expectedStart, error);
    }

    [Fact]
    public void Read_BadLine_ThrowsWithFileAndLine()
    {
        string text = UeventRecordWriter.ToJson(Uevent.Create(UeventSource.Kernel, [new("ACTION", "add")])) + "\n\n{}\n";
        var e = Assert.Throws<InvalidDataException>(() => UeventRecordReader.Read(new StringReader(text), "events.jsonl").ToList());
        Assert.Equal("events.jsonl:3: error: not a record: no \"properties\" array", e.Message);
    }
}
