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

        var hash = new HashCode();
        hash.AddBytes(value);
        int h = hash.ToHashCode();
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

    private sealed record Entry(byte[] Bytes, string Text);
}
