using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The memory of <see cref="UeventRing"/>: the events waiting for the consumer, as records in one anonymous
/// mapping outside the GC heap (issue 15: an event that waits as an object survives its first gen0
/// collections and is copied by each; bytes here are never scanned or copied). The one place that calls the
/// native memory API for the ring. One writer and one reader, in order.
/// </summary>
/// <remarks>
/// A record is a header (record bytes, property bytes, property count, a reserved int, the timestamp, the
/// known keys' slots) and then the event's one buffer exactly as <see cref="PropertyBounds"/> lays it out (the
/// <c>KEY=VALUE\0</c> bytes padded to four, the index), padded to 8 bytes; taking a record is one array and
/// one copy. Positions are byte counts that only grow (offset = position mod size). A record never wraps:
/// when it does not fit before the end it starts at the beginning, and the gap stays in use until the record
/// is taken. When the ring is empty the writer starts over at the beginning, so while the consumer keeps up
/// only the first pages are touched; pages above <see cref="KeepBytes"/> that a backlog touched are given
/// back (<see cref="TrimIfEmpty"/>). The mapping is unmapped once the writer is done
/// (<see cref="Dispose"/>) and nothing waits, whichever comes last, or when the ring is collected.
/// </remarks>
internal sealed unsafe class UeventRingSlab : IDisposable
{
    internal const int HeaderBytes = 24 + UeventKeySlots.Length;

    /// <summary>Pages up to here stay mapped in; above, what a backlog touched is given back once it is gone.</summary>
    internal const int KeepBytes = 256 * 1024;

    private readonly Mapping _mapping;
    private readonly byte* _base;
    private readonly int _size;
    private readonly int _maxRecords;

    // The writer's: where the next record goes, how many were written, the highest offset touched.
    private long _written;
    private long _writtenRecords;
    private int _highWater;

    // The reader's: everything before _released is free again.
    private long _released;
    private long _takenRecords;
    private int _releaseRequested;

    /// <summary>Maps <paramref name="sizeBytes"/> (rounded up to whole pages; touched only as records need it) for at most <paramref name="maxRecords"/> records.</summary>
    public UeventRingSlab(int sizeBytes, int maxRecords)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeBytes, HeaderBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        int page = Environment.SystemPageSize;
        _size = checked((sizeBytes + page - 1) / page * page);
        _maxRecords = maxRecords;
        // MAP_NORESERVE: a backlog this large is rare, so the mapping is not charged as committed memory.
        void* address = mmap(null, _size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (address == MAP_FAILED)
        {
            int error = errno;
            throw new IOException($"mmap of the uevent ring ({_size} bytes) failed: {new System.ComponentModel.Win32Exception(error).Message} (errno {error})", error);
        }

        _base = (byte*)address;
        _mapping = new Mapping((nint)address, _size);
        // With transparent huge pages on "always", the first event would take 2 MiB of memory, not 4 KiB.
        _ = madvise(address, _size, MADV_NOHUGEPAGE);
    }

    /// <summary>Bytes mapped.</summary>
    public int Size => _size;

    /// <summary>Records written and not yet taken; any thread.</summary>
    public int Count => (int)(Volatile.Read(ref _writtenRecords) - Volatile.Read(ref _takenRecords));

    /// <summary>Where the mapping starts (tests find it in <c>/proc/self/maps</c>).</summary>
    internal nint BaseAddress => (nint)_base;

    /// <summary>True once the mapping is gone.</summary>
    public bool IsReleased => _mapping.IsClosed;

    /// <summary>The bytes a record of <paramref name="propertyBytes"/> in <paramref name="count"/> properties takes.</summary>
    public static long RecordBytes(int propertyBytes, int count) =>
        (HeaderBytes + (long)PropertyBounds.IndexOffset(propertyBytes) + ((long)count * PropertyBounds.EntryBytes) + 7) & ~7L;

    /// <summary>
    /// Writer only. Appends a record of <paramref name="properties"/> indexed by <paramref name="bounds"/> (two
    /// entries per property, <see cref="PropertyBounds"/>: the parser's index), with the known keys' slots; false,
    /// and nothing written, when the ring holds <c>maxRecords</c> records or the record does not fit in the free space.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> properties, ReadOnlySpan<int> bounds, in UeventKeySlots keys, long timestamp, out long position)
    {
        ObjectDisposedException.ThrowIf(_mapping.IsClosed, this);
        if (bounds.Length % 2 != 0)
        {
            throw new ArgumentException("the index has two entries per property", nameof(bounds));
        }

        position = 0;
        int count = bounds.Length / 2;
        long needed = RecordBytes(properties.Length, count);
        if (needed > _size || _writtenRecords - Volatile.Read(ref _takenRecords) >= _maxRecords)
        {
            return false;
        }

        int recordBytes = (int)needed;
        long released = Volatile.Read(ref _released);
        long start = _written;
        int offset = (int)(start % _size);
        if (start == released && offset != 0)
        {
            // Nothing waits, and the reader touches nothing until the next record is handed to it: start
            // over at the beginning, with nothing in use (so only the first pages stay warm).
            start += _size - offset;
            offset = 0;
            released = start;
            Volatile.Write(ref _released, start);
        }
        else if (offset + recordBytes > _size)
        {
            start += _size - offset;
            offset = 0;
        }

        if (start + recordBytes - released > _size)
        {
            return false;
        }

        byte* record = _base + offset;
        byte* buffer = record + HeaderBytes;
        int at = PropertyBounds.IndexOffset(properties.Length);
        properties.CopyTo(new Span<byte>(buffer, properties.Length));
        new Span<byte>(buffer + properties.Length, at - properties.Length).Clear();
        MemoryMarshal.AsBytes(bounds).CopyTo(new Span<byte>(buffer + at, bounds.Length * sizeof(int)));
        *(int*)record = recordBytes;
        *(int*)(record + 4) = properties.Length;
        *(int*)(record + 8) = count;
        *(int*)(record + 12) = 0;
        *(long*)(record + 16) = timestamp;
        *(UeventKeySlots*)(record + 24) = keys;
        _highWater = Math.Max(_highWater, offset + recordBytes);
        Volatile.Write(ref _written, start + recordBytes);
        Volatile.Write(ref _writtenRecords, _writtenRecords + 1);
        position = start;
        return true;
    }

    /// <summary>
    /// Reader only. Copies the record at <paramref name="position"/> (from <see cref="TryWrite"/>, taken in the
    /// order written) out to the GC heap as one buffer laid out as <see cref="PropertyBounds"/> says, and frees its space.
    /// </summary>
    public void Take(long position, out byte[] buffer, out int count, out UeventKeySlots keys, out long timestamp)
    {
        ObjectDisposedException.ThrowIf(_mapping.IsClosed, this);
        int offset = (int)(position % _size);
        byte* record = _base + offset;
        int recordBytes = *(int*)record;
        int propertyBytes = *(int*)(record + 4);
        count = *(int*)(record + 8);
        // Only TryWrite writes here, but a bug must not read outside the mapping: check the header.
        if (recordBytes < HeaderBytes || recordBytes > _size - offset || propertyBytes < 0 || count < 0 || RecordBytes(propertyBytes, count) != recordBytes)
        {
            throw new InvalidOperationException($"uevent ring record at {position} is corrupt");
        }

        timestamp = *(long*)(record + 16);
        keys = *(UeventKeySlots*)(record + 24);
        int length = PropertyBounds.IndexOffset(propertyBytes) + (count * PropertyBounds.EntryBytes);
        buffer = GC.AllocateUninitializedArray<byte>(length);
        new ReadOnlySpan<byte>(record + HeaderBytes, length).CopyTo(buffer);
        long end = position + recordBytes;
        Volatile.Write(ref _takenRecords, _takenRecords + 1);
        // A full fence, paired with Dispose's: one of the two sees the other's write, so the
        // last one out unmaps, and never while the other still reads.
        Interlocked.Exchange(ref _released, end);
        if (Volatile.Read(ref _releaseRequested) != 0 && end == Volatile.Read(ref _written))
        {
            _mapping.Dispose();
        }
    }

    /// <summary>
    /// Writer only, when it is idle: gives back the pages above <see cref="KeepBytes"/> that a backlog
    /// touched, once nothing waits (they read as zeros when touched again). True when nothing is left to give
    /// back; false while a backlog still waits and holds pages above <see cref="KeepBytes"/>.
    /// </summary>
    public bool TrimIfEmpty()
    {
        if (_highWater <= KeepBytes || _mapping.IsClosed)
        {
            return true;
        }

        if (Volatile.Read(ref _released) != _written)
        {
            return false;
        }

        int page = Environment.SystemPageSize;
        int keep = Math.Min(KeepBytes / page * page, _size);
        int length = Math.Min((_highWater - keep + page - 1) / page * page, _size - keep);
        // Advice only: on failure the pages stay, which costs memory and nothing else.
        _ = madvise(_base + keep, length, MADV_DONTNEED);
        _highWater = keep;
        return true;
    }

    /// <summary>
    /// The writer is done: unmaps now if nothing waits, else when the reader takes the last record (or
    /// the ring is collected unread). Idempotent; the reader may go on taking what waits.
    /// </summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _releaseRequested, 1);
        if (Interlocked.Read(ref _released) == Volatile.Read(ref _written))
        {
            _mapping.Dispose();
        }
    }

    /// <summary>Owns the mapping: unmapped once, on release or by the finalizer of an abandoned ring.</summary>
    private sealed class Mapping : SafeHandleZeroOrMinusOneIsInvalid
    {
        private readonly int _length;

        public Mapping(nint address, int length)
            : base(ownsHandle: true)
        {
            SetHandle(address);
            _length = length;
        }

        protected override bool ReleaseHandle() => munmap((void*)handle, _length) == 0;
    }
}
