using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The decoded text of short property values that repeat from event to event (the action, the
/// subsystem, the devtype, a device's DEVPATH, its driver, vendor and serial), shared instead of
/// decoded and allocated again for each event (issue 15: every event in a backlog is a handful of
/// objects the GC copies; the same few strings were a third of them). A direct-mapped cache: a value
/// is found only if its bytes are exactly a held entry's, so the text is always what
/// <see cref="Encoding.UTF8"/> makes of those bytes (invalid UTF-8 included). Each value has two slots
/// it may sit in (two parts of its hash); a new value takes a free one or replaces one of the two, so a
/// flood of distinct values costs a lookup each and holds at most <see cref="Slots"/> entries. Safe from
/// any thread: an entry is immutable and replaced whole.
/// </summary>
internal static class UeventValueCache
{
    /// <summary>Longer values (a DEVLINKS list, a long hostile value) are decoded each time, never held.</summary>
    internal const int MaxLength = 128;

    private const int Slots = 1024;

    private static readonly Entry?[] s_entries = new Entry?[Slots];

    /// <summary>The text of <paramref name="value"/>, shared with earlier events when it was seen before.</summary>
    public static string GetString(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return string.Empty;
        }

        if (value.Length > MaxLength)
        {
            return Encoding.UTF8.GetString(value);
        }

        int h = Hash(value);
        int first = h & (Slots - 1);
        int second = (h >>> 16) & (Slots - 1);
        Entry? a = Volatile.Read(ref s_entries[first]);
        if (a is not null && value.SequenceEqual(a.Bytes))
        {
            return a.Text;
        }

        Entry? b = Volatile.Read(ref s_entries[second]);
        if (b is not null && value.SequenceEqual(b.Bytes))
        {
            return b.Text;
        }

        string text = Encoding.UTF8.GetString(value);
        // A free slot first; with both taken, which one goes is decided by a hash bit not used for either.
        int slot = a is null ? first : b is null || (h & (1 << 10)) == 0 ? second : first;
        Volatile.Write(ref s_entries[slot], new Entry(value.ToArray(), text));
        return text;
    }

    /// <summary>
    /// The value's length and its first and last eight bytes (all of it up to 16), mixed: what tells
    /// repeated values apart (a DEVPATH's or a DEVNAME's tail, a short word) at a fixed cost. Issue 15:
    /// hashing every byte of values that had waited in the ring, cold in cache, was a tenth of the
    /// pipeline thread. Values alike at both ends share their slots and evict each other: a lookup
    /// more, never a wrong text (the bytes are compared in full).
    /// </summary>
    private static int Hash(ReadOnlySpan<byte> value)
    {
        ulong head;
        ulong tail;
        if (value.Length >= 8)
        {
            head = MemoryMarshal.Read<ulong>(value);
            tail = MemoryMarshal.Read<ulong>(value[^8..]);
        }
        else if (value.Length >= 4)
        {
            head = MemoryMarshal.Read<uint>(value);
            tail = MemoryMarshal.Read<uint>(value[^4..]);
        }
        else
        {
            head = value[0] | ((ulong)value[value.Length >> 1] << 8) | ((ulong)value[^1] << 16);
            tail = 0;
        }

        ulong x = (head * 0x9E3779B97F4A7C15UL) ^ BitOperations.RotateLeft(tail * 0xC2B2AE3D27D4EB4FUL, 32) ^ (ulong)value.Length;
        x ^= x >> 32;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 29;
        return (int)x;
    }

    private sealed record Entry(byte[] Bytes, string Text);
}
