using CsCheck;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

/// <summary>The ring as the consumer sees it: events made when taken, bounded by count and by bytes, completed and released.</summary>
public sealed class UeventRingTests
{
    private static bool Write(UeventRing ring, byte[] datagram, long timestamp)
    {
        var bounds = new int[UeventParser.MaxBounds(datagram.Length)];
        Assert.Equal(RejectReason.None, UeventParser.TryIndex(datagram, UeventSource.Udev, bounds, out int start, out int length, out int count, out UeventKeySlots keys));
        return ring.TryWrite(datagram.AsSpan(start, length), bounds.AsSpan(0, 2 * count), keys, timestamp, mayRunReader: false);
    }

    private static byte[] Message(int n) =>
        UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/pci0000:00/usb2/2-" + n, "SUBSYSTEM=usb", "DEVTYPE=usb_device", "SEQNUM=" + (100 + n), "ID_SERIAL_SHORT=S\u00e9" + n);

    [Fact]
    public void TryRead_AfterTryWrite_TheParsersEventWithTheReceiveTimestamp()
    {
        using var ring = new UeventRing(UeventSource.Udev, capacity: 8);
        byte[] datagram = Message(1);
        Assert.True(UeventParser.TryParse(datagram, UeventSource.Udev, 42, out Uevent? parsed, out _));

        Assert.True(Write(ring, datagram, 42));
        Assert.Equal(1, ring.Count);
        Assert.True(ring.TryRead(out Uevent? taken));

        Assert.Equal(UeventSource.Udev, taken.Source);
        Assert.Equal(42, taken.ReceivedTimestamp);
        Assert.Equal(parsed.Properties, taken.Properties);
        Assert.Equal((parsed.Action, parsed.DevPath, parsed.Subsystem, parsed.DevType, parsed.SeqNum), (taken.Action, taken.DevPath, taken.Subsystem, taken.DevType, taken.SeqNum));
        Assert.False(ring.TryRead(out _));
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void TryWrite_CapacityReached_FalseUntilOneIsRead()
    {
        using var ring = new UeventRing(UeventSource.Udev, capacity: 3);

        Assert.True(Write(ring, Message(1), 1));
        Assert.True(Write(ring, Message(2), 2));
        Assert.True(Write(ring, Message(3), 3));
        Assert.False(Write(ring, Message(4), 4));
        Assert.True(ring.TryRead(out Uevent? first));
        Assert.True(Write(ring, Message(5), 5));

        Assert.Equal("/devices/pci0000:00/usb2/2-1", first.DevPath);
        Assert.Equal([2L, 3L, 5L], [.. ReadAll(ring).Select(e => e.ReceivedTimestamp)]);
    }

    [Fact]
    public void TryWrite_RecordSpaceFull_FalseUntilOneIsRead()
    {
        using var ring = new UeventRing(UeventSource.Udev, capacity: 1000, bytes: Environment.SystemPageSize);
        int written = 0;
        while (Write(ring, Message(written), written))
        {
            written++;
        }

        Assert.InRange(written, 2, 999);
        Assert.True(ring.TryRead(out _));
        Assert.True(Write(ring, Message(written), written));
        Assert.Equal(written, ReadAll(ring).Count);
    }

    [Fact]
    public async Task TryComplete_WithEventsWaiting_TheyAreReadThenTheStreamEndsAndTheMemoryGoes()
    {
        var ring = new UeventRing(UeventSource.Udev, capacity: 8);
        Assert.True(Write(ring, Message(1), 1));
        Assert.True(Write(ring, Message(2), 2));

        ring.TryComplete(null);
        ring.Dispose();

        Assert.False(ring.Slab.IsReleased);
        var read = new List<Uevent>();
        await foreach (Uevent e in ring.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token))
        {
            read.Add(e);
        }

        Assert.Equal(2, read.Count);
        Assert.True(ring.Slab.IsReleased);
        Assert.True(ring.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public void ReceivePath_MutatedMessages_SameRejectOrSameEventAsTryParse()
    {
        // The receive loop checks with TryIndex and the event is made when taken from the ring: for any
        // datagram that must be TryParse's reject reason, or TryParse's event. One thread: the two rings
        // are shared by every sample and a ring has one writer and one reader, as in the daemon.
        byte[] udev = Message(7);
        byte[] kernel = KernelMessageWriter.Write([new("ACTION", "add"), new("DEVPATH", "/devices/virtual/block/loop0"), new("SUBSYSTEM", "block"), new("SEQNUM", "9"), new("A", "")]);
        using var ring = new UeventRing(UeventSource.Udev, capacity: 4);
        using var kernelRing = new UeventRing(UeventSource.Kernel, capacity: 4);
        Gen.Select(Gen.Bool, Gen.Int[0, 8], Gen.Int[0, 1000].Array[0, 6], Gen.Byte.Array[1, 6]).Sample((isUdev, cut, positions, values) =>
        {
            byte[] original = isUdev ? udev : kernel;
            byte[] d = original[..Math.Max(0, original.Length - cut)];
            for (int i = 0; i < positions.Length && d.Length > 0; i++)
            {
                d[positions[i] % d.Length] = values[i % values.Length];
            }

            UeventSource source = isUdev ? UeventSource.Udev : UeventSource.Kernel;
            UeventRing target = isUdev ? ring : kernelRing;
            bool parsed = UeventParser.TryParse(d, source, 5, out Uevent? expected, out RejectReason expectedReason);
            var bounds = new int[UeventParser.MaxBounds(d.Length)];
            RejectReason reason = UeventParser.TryIndex(d, source, bounds, out int start, out int length, out int count, out UeventKeySlots keys);

            Assert.Equal(expectedReason, reason);
            if (parsed)
            {
                ReadOnlySpan<int> index = bounds.AsSpan(0, 2 * count);
                Assert.Equal(expected!.SeqNum, Uevent.SeqNumOf(d.AsSpan(start, length), index, keys));
                Assert.True(target.TryWrite(d.AsSpan(start, length), index, keys, 5, mayRunReader: false));
                Assert.True(target.TryRead(out Uevent? taken));
                Assert.Equal(expected.Properties, taken.Properties);
                Assert.Equal((expected.Source, expected.ActionText, expected.DevPath, expected.Subsystem, expected.DevType, expected.SeqNum, expected.ReceivedTimestamp, expected.PropertyCount),
                    (taken.Source, taken.ActionText, taken.DevPath, taken.Subsystem, taken.DevType, taken.SeqNum, taken.ReceivedTimestamp, taken.PropertyCount));
                foreach (string key in (string[])["ACTION", "DEVPATH", "SUBSYSTEM", "DEVTYPE", "SEQNUM", "ID_SERIAL_SHORT", "A"])
                {
                    Assert.Equal(expected.GetString(key), taken.GetString(key));
                }
            }
        }, iter: 5_000, threads: 1);
    }

    private static List<Uevent> ReadAll(UeventRing ring)
    {
        var events = new List<Uevent>();
        while (ring.TryRead(out Uevent? e))
        {
            events.Add(e);
        }

        return events;
    }
}
