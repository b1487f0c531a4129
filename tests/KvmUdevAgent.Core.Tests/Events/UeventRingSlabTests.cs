using System.Globalization;
using CsCheck;
using KvmUdevAgent.Core.Events;
using Tmds.Linux;

namespace KvmUdevAgent.Core.Tests.Events;

/// <summary>
/// The ring's record framing in its native mapping: what is taken is exactly what was written, in
/// order, across wrap-arounds and full rings; the kernel's view of the slab's pages (<c>mincore(2)</c>)
/// shows the memory given back and unmapped.
/// </summary>
public sealed class UeventRingSlabTests
{
    private static readonly int s_page = Environment.SystemPageSize;

    /// <summary>An event's properties <c>K0=vvv\0K1=…</c> with the given value lengths, their index and key slots (K0 as ACTION's).</summary>
    private sealed record Entry(byte[] Data, int[] Bounds, UeventKeySlots Keys)
    {
        /// <summary>The buffer a Uevent of these gets: the properties padded to four, then the index.</summary>
        public byte[] Buffer => PropertyBounds.Build(Data, Bounds);
    }

    private static Entry Entries(params int[] valueLengths)
    {
        var data = new List<byte>();
        var bounds = new int[2 * valueLengths.Length];
        var keys = default(UeventKeySlots);
        for (int i = 0; i < valueLengths.Length; i++)
        {
            data.AddRange(System.Text.Encoding.ASCII.GetBytes("K" + i.ToString(CultureInfo.InvariantCulture)));
            bounds[2 * i] = data.Count;
            data.Add((byte)'=');
            data.AddRange(Enumerable.Range(0, valueLengths[i]).Select(j => (byte)('a' + ((i + j) % 26))));
            bounds[(2 * i) + 1] = data.Count;
            data.Add(0);
        }

        if (valueLengths.Length > 0)
        {
            keys.Record(UeventKnownKeys.Action, valueLengths.Length - 1);
        }

        return new Entry(data.ToArray(), bounds, keys);
    }

    /// <summary>One property whose record takes exactly <paramref name="recordBytes"/> (a multiple of 8).</summary>
    private static Entry RecordOf(int recordBytes)
    {
        // Header, "K0=" + value + NUL (a multiple of 4 here), one index entry.
        Entry e = Entries(recordBytes - UeventRingSlab.HeaderBytes - PropertyBounds.EntryBytes - 4);
        Assert.Equal(recordBytes, UeventRingSlab.RecordBytes(e.Data.Length, e.Bounds.Length / 2));
        return e;
    }

    private static long Write(UeventRingSlab slab, Entry record, long timestamp = 7)
    {
        Assert.True(slab.TryWrite(record.Data, record.Bounds, record.Keys, timestamp, out long position));
        return position;
    }

    private static void AssertTakes(UeventRingSlab slab, long position, Entry expected, long timestamp = 7)
    {
        slab.Take(position, out byte[] buffer, out int count, out UeventKeySlots keys, out long taken);
        Assert.Equal(expected.Buffer, buffer);
        Assert.Equal(expected.Bounds.Length / 2, count);
        Assert.Equal(expected.Keys.LastIndexOf(UeventKnownKeys.Action, expected.Data, expected.Bounds), keys.LastIndexOf(UeventKnownKeys.Action, expected.Data, expected.Bounds));
        Assert.Equal(-1, keys.LastIndexOf(UeventKnownKeys.DevPath, expected.Data, expected.Bounds));
        Assert.Equal(timestamp, taken);
    }

    [Fact]
    public void TryWrite_RecordExactlyFillsTheEnd_FitsAndTheNextWaitsForSpace()
    {
        using var slab = new UeventRingSlab(s_page, maxRecords: 100);
        var a = RecordOf(s_page / 2);
        var b = RecordOf(s_page / 2);
        var c = RecordOf(72);

        long pa = Write(slab, a);
        long pb = Write(slab, b);
        Assert.False(slab.TryWrite(c.Data, c.Bounds, c.Keys, 7, out _));
        AssertTakes(slab, pa, a);
        long pc = Write(slab, c);

        Assert.Equal((0L, (long)(s_page / 2), (long)s_page), (pa, pb, pc));
        AssertTakes(slab, pb, b);
        AssertTakes(slab, pc, c);
        Assert.Equal(0, slab.Count);
    }

    [Fact]
    public void TryWrite_RecordPastTheEnd_StartsAtTheBeginning_WhenTheOldestWasTaken()
    {
        using var slab = new UeventRingSlab(s_page, maxRecords: 100);
        var a = RecordOf(s_page / 4);
        var b = RecordOf(s_page * 5 / 8);
        var c = RecordOf(s_page / 4);
        var d = RecordOf(s_page / 4 + 8);
        long pa = Write(slab, a);
        long pb = Write(slab, b);
        AssertTakes(slab, pa, a);

        // An eighth of the page is left at the end and a quarter at the beginning: d fits in neither, c at the beginning.
        Assert.False(slab.TryWrite(d.Data, d.Bounds, d.Keys, 7, out _));
        long pc = Write(slab, c);

        Assert.Equal(s_page + 0L, pc);
        AssertTakes(slab, pb, b);
        AssertTakes(slab, pc, c);
    }

    [Fact]
    public void TryWrite_AfterTheRingEmptied_StartsOverAtTheBeginning()
    {
        using var slab = new UeventRingSlab(4 * s_page, maxRecords: 100);
        var a = RecordOf(s_page);
        AssertTakes(slab, Write(slab, a), a);

        long next = Write(slab, RecordOf(72));

        Assert.Equal(0, next % slab.Size);
    }

    [Fact]
    public void TryWrite_MaxRecordsWaiting_FalseUntilOneIsTaken()
    {
        using var slab = new UeventRingSlab(s_page, maxRecords: 2);
        var e = Entries(3, 0);
        long first = Write(slab, e);
        Write(slab, e);

        Assert.False(slab.TryWrite(e.Data, e.Bounds, e.Keys, 7, out _));
        Assert.Equal(2, slab.Count);
        AssertTakes(slab, first, e);
        Write(slab, e);
    }

    [Fact]
    public void TryWrite_RecordLargerThanTheRing_FalseAndTheRingStillWorks()
    {
        using var slab = new UeventRingSlab(s_page, maxRecords: 100);
        var huge = Entries(s_page);

        Assert.False(slab.TryWrite(huge.Data, huge.Bounds, huge.Keys, 7, out _));
        var small = Entries(5);
        AssertTakes(slab, Write(slab, small), small);
    }

    [Fact]
    public void TryWrite_NoBytesNoProperties_TakenBackEmpty()
    {
        using var slab = new UeventRingSlab(s_page, maxRecords: 100);

        long position = Write(slab, Entries(), timestamp: -1);

        AssertTakes(slab, position, Entries(), timestamp: -1);
    }

    [Fact]
    public void TryWrite_IndexWithAnOddNumberOfEntries_ThrowsAndWritesNothing()
    {
        using var slab = new UeventRingSlab(s_page, maxRecords: 100);
        Entry e = Entries(4, 4);

        Assert.Throws<ArgumentException>(() => slab.TryWrite(e.Data, e.Bounds.AsSpan(0, 3), e.Keys, 7, out _));

        Assert.Equal(0, slab.Count);
        AssertTakes(slab, Write(slab, e), e);
    }

    [Fact]
    public void WriteAndTake_AnySequence_TakesExactlyWhatWasWrittenInOrder()
    {
        // Records of 0–6 properties of 0–700 value bytes in a one-page ring: small ones wrap many times,
        // large ones fill it, the largest never fit.
        Gen<int[]> record = Gen.Int[0, 700].Array[0, 6];
        Gen<(bool Write, int[] Values)> op = Gen.Select(Gen.Int[0, 2], record, (w, v) => (w > 0, v));
        Gen.Select(op.Array[1, 300], Gen.Int[1, 8]).Sample((ops, maxRecords) =>
        {
            using var slab = new UeventRingSlab(s_page, maxRecords);
            var waiting = new Queue<(long Position, Entry Entry, long Timestamp)>();
            long timestamp = 0;
            foreach ((bool write, int[] values) in ops)
            {
                if (write)
                {
                    Entry e = Entries(values);
                    long bytes = UeventRingSlab.RecordBytes(e.Data.Length, values.Length);
                    bool written = slab.TryWrite(e.Data, e.Bounds, e.Keys, ++timestamp, out long position);
                    Assert.False(written && waiting.Count == maxRecords, "more than maxRecords waiting");
                    if (written)
                    {
                        Assert.Equal(0, position % 8);
                        Assert.True(position % slab.Size + bytes <= slab.Size, "a record never wraps");
                        waiting.Enqueue((position, e, timestamp));
                    }
                    else
                    {
                        // An empty ring with room for the count takes anything that fits in it.
                        Assert.True(waiting.Count > 0 || bytes > slab.Size, $"refused {bytes} bytes in an empty ring");
                    }
                }
                else if (waiting.TryDequeue(out var expected))
                {
                    AssertTakes(slab, expected.Position, expected.Entry, expected.Timestamp);
                }

                Assert.Equal(waiting.Count, slab.Count);
            }

            while (waiting.TryDequeue(out var expected))
            {
                AssertTakes(slab, expected.Position, expected.Entry, expected.Timestamp);
            }
        }, iter: 500);
    }

    [Fact]
    public void TrimIfEmpty_AfterABacklogWasTaken_GivesThePagesBack()
    {
        using var slab = new UeventRingSlab(4 * 1024 * 1024, maxRecords: 100_000);
        var e = RecordOf(1024);
        var positions = new List<long>();
        for (int i = 0; i < 2048; i++)
        {
            positions.Add(Write(slab, e));
        }

        long backlog = ResidentKiB(slab);
        foreach (long p in positions)
        {
            AssertTakes(slab, p, e);
        }

        Assert.True(slab.TrimIfEmpty());

        Assert.True(backlog >= 2048, $"the backlog had {backlog} KiB resident");
        Assert.True(ResidentKiB(slab) <= UeventRingSlab.KeepBytes / 1024, $"{ResidentKiB(slab)} KiB resident after the trim");
        AssertTakes(slab, Write(slab, e), e);
    }

    [Fact]
    public void TrimIfEmpty_WhileRecordsWait_KeepsThem()
    {
        using var slab = new UeventRingSlab(4 * 1024 * 1024, maxRecords: 100_000);
        var e = RecordOf(1024);
        var positions = Enumerable.Range(0, 1024).Select(_ => Write(slab, e)).ToList();
        AssertTakes(slab, positions[0], e);

        Assert.False(slab.TrimIfEmpty());

        foreach (long p in positions.Skip(1))
        {
            AssertTakes(slab, p, e);
        }
    }

    [Fact]
    public void Dispose_NothingWaiting_UnmapsAtOnce()
    {
        var slab = new UeventRingSlab(1024 * 1024, maxRecords: 10);
        var e = Entries(10);
        AssertTakes(slab, Write(slab, e), e);
        Assert.True(IsMapped(slab));

        slab.Dispose();
        slab.Dispose();

        Assert.True(slab.IsReleased);
        Assert.False(IsMapped(slab));
        Assert.Throws<ObjectDisposedException>(() => slab.TryWrite(e.Data, e.Bounds, e.Keys, 7, out _));
    }

    [Fact]
    public void Dispose_WhileRecordsWait_TheyCanStillBeTaken_UnmappedAfterTheLast()
    {
        var slab = new UeventRingSlab(1024 * 1024, maxRecords: 10);
        var e = Entries(10, 20);
        long first = Write(slab, e);
        long second = Write(slab, e);

        slab.Dispose();

        Assert.True(IsMapped(slab));
        AssertTakes(slab, first, e);
        Assert.True(IsMapped(slab));
        AssertTakes(slab, second, e);
        Assert.True(slab.IsReleased);
        Assert.False(IsMapped(slab));
    }

    /// <summary>
    /// Whether the slab's first page is mapped, as <c>mincore(2)</c> says (ENOMEM: not mapped). Not
    /// <c>/proc/self/maps</c>: the kernel merges an anonymous mapping with a neighbour of the same flags
    /// (another test's ring, made at the same moment), and the merged line starts elsewhere.
    /// </summary>
    private static unsafe bool IsMapped(UeventRingSlab slab)
    {
        byte resident;
        if (LibC.mincore((void*)slab.BaseAddress, s_page, &resident) == 0)
        {
            return true;
        }

        int error = LibC.errno;
        if (error == LibC.ENOMEM)
        {
            return false;
        }

        throw new InvalidOperationException($"mincore failed: errno {error}");
    }

    /// <summary>
    /// Resident KiB of the slab's own pages, as <c>mincore(2)</c> reports them. Not the mapping's
    /// <c>Rss</c> in <c>/proc/self/smaps</c>: once the kernel has merged the slab with a neighbouring
    /// anonymous mapping (another test's ring), that counts the neighbour's pages too.
    /// </summary>
    internal static unsafe long ResidentKiB(UeventRingSlab slab)
    {
        var pages = new byte[slab.Size / s_page];
        fixed (byte* vector = pages)
        {
            if (LibC.mincore((void*)slab.BaseAddress, slab.Size, vector) != 0)
            {
                throw new InvalidOperationException($"mincore failed: errno {LibC.errno}");
            }
        }

        return pages.Count(p => (p & 1) != 0) * (long)s_page / 1024;
    }
}
