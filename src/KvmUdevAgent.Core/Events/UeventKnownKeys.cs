using System.Runtime.InteropServices;
using System.Text;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The property keys the agent itself reads from every event (the <see cref="Uevent"/> constructor, the
/// device view, the USB cache, the tracker), each with a fixed number: its slot in
/// <see cref="UeventKeySlots"/>. Issue 15: looking these up by a scan of the ~30 properties of a udev
/// event, comparing keys, was a sixth of both the receive and the pipeline thread; the parser, which
/// reads every key anyway, records where each known key is instead. A key is recognised by its length
/// and its first and last eight bytes (which are all of it up to 16 bytes), so a key that is not known
/// costs the parser one table read, and most known ones two compares. Adding a key: one row here.
/// </summary>
internal static class UeventKnownKeys
{
    // The constructor's own, first; the others in any order. Each id is its key's row in s_names (a test pins them).
    public const int Action = 0;
    public const int DevPath = 1;
    public const int Subsystem = 2;
    public const int DevType = 3;
    public const int SeqNum = 4;
    public const int Driver = 5;
    public const int DevName = 6;
    public const int Product = 7;
    public const int BusNum = 8;
    public const int DevNum = 9;
    public const int DevPathOld = 10;
    public const int IdVendorId = 11;
    public const int IdUsbVendorId = 12;
    public const int IdModelId = 13;
    public const int IdUsbModelId = 14;
    public const int IdSerialShort = 15;
    public const int IdUsbSerialShort = 16;
    public const int IdVendor = 17;
    public const int IdVendorEnc = 18;
    public const int IdModel = 19;
    public const int IdModelEnc = 20;
    public const int IdUsbInterfaces = 21;
    public const int IdFsLabel = 22;
    public const int IdFsLabelEnc = 23;
    public const int IdFsUuid = 24;
    public const int IdFsUuidEnc = 25;
    public const int IdFsType = 26;

    private static readonly string[] s_names =
    [
        UeventKeys.Action, UeventKeys.DevPath, UeventKeys.Subsystem, UeventKeys.DevType, UeventKeys.SeqNum,
        UeventKeys.Driver, UeventKeys.DevName, UeventKeys.Product, UeventKeys.BusNum, UeventKeys.DevNum,
        UeventKeys.DevPathOld,
        UeventKeys.IdVendorId, UeventKeys.IdUsbVendorId, UeventKeys.IdModelId, UeventKeys.IdUsbModelId,
        UeventKeys.IdSerialShort, UeventKeys.IdUsbSerialShort,
        UeventKeys.IdVendor, UeventKeys.IdVendorEnc, UeventKeys.IdModel, UeventKeys.IdModelEnc,
        UeventKeys.IdUsbInterfaces,
        UeventKeys.IdFsLabel, UeventKeys.IdFsLabelEnc, UeventKeys.IdFsUuid, UeventKeys.IdFsUuidEnc, UeventKeys.IdFsType,
    ];

    private static readonly byte[][] s_bytes = Array.ConvertAll(s_names, Encoding.ASCII.GetBytes);

    // The keys sorted by length; s_entries[s_firstOfLength[n] .. s_firstOfLength[n + 1]] are those n bytes long.
    private static readonly Entry[] s_entries = SortByLength(out s_firstOfLength);
    private static readonly byte[] s_firstOfLength;

    /// <summary>How many keys there are; each id is below this.</summary>
    public static int Count => s_names.Length;

    /// <summary>The key numbered <paramref name="id"/>.</summary>
    public static string Name(int id) => s_names[id];

    /// <summary>The key numbered <paramref name="id"/>, as the bytes on the wire.</summary>
    public static ReadOnlySpan<byte> Bytes(int id) => s_bytes[id];

    /// <summary>The id of <paramref name="key"/> (raw bytes, compared exactly), or -1 when it is not a known key.</summary>
    public static int Find(ReadOnlySpan<byte> key)
    {
        if ((uint)key.Length + 1 >= (uint)s_firstOfLength.Length)
        {
            return -1;
        }

        int first = s_firstOfLength[key.Length];
        int end = s_firstOfLength[key.Length + 1];
        if (first == end)
        {
            return -1;
        }

        (ulong head, ulong tail) = Signature(key);
        for (int i = first; i < end; i++)
        {
            ref readonly Entry e = ref s_entries[i];
            if (e.Head == head && e.Tail == tail && (key.Length <= 16 || key.SequenceEqual(s_bytes[e.Id])))
            {
                return e.Id;
            }
        }

        return -1;
    }

    /// <summary>The id of <paramref name="key"/> (compared ordinally), or -1 when it is not a known key.</summary>
    public static int Find(string key)
    {
        if ((uint)key.Length + 1 >= (uint)s_firstOfLength.Length)
        {
            return -1;
        }

        // The callers pass the UeventKeys constants themselves: string.Equals finds them by reference.
        int end = s_firstOfLength[key.Length + 1];
        for (int i = s_firstOfLength[key.Length]; i < end; i++)
        {
            ref readonly Entry e = ref s_entries[i];
            if (string.Equals(e.Name, key))
            {
                return e.Id;
            }
        }

        return -1;
    }

    /// <summary>Eight bytes from each end (overlapping when shorter than 16): for up to 16 bytes, all of the key.</summary>
    private static (ulong Head, ulong Tail) Signature(ReadOnlySpan<byte> key)
    {
        if (key.Length >= 8)
        {
            return (MemoryMarshal.Read<ulong>(key), MemoryMarshal.Read<ulong>(key[^8..]));
        }

        if (key.Length >= 4)
        {
            return (MemoryMarshal.Read<uint>(key) | ((ulong)MemoryMarshal.Read<uint>(key[^4..]) << 32), 0);
        }

        ulong head = 0;
        for (int i = 0; i < key.Length; i++)
        {
            head |= (ulong)key[i] << (8 * i);
        }

        return (head, 0);
    }

    private static Entry[] SortByLength(out byte[] firstOfLength)
    {
        int longest = 0;
        foreach (string name in s_names)
        {
            longest = Math.Max(longest, name.Length);
        }

        var entries = new Entry[s_names.Length];
        firstOfLength = new byte[longest + 2];
        int i = 0;
        for (int length = 0; length < firstOfLength.Length; length++)
        {
            firstOfLength[length] = (byte)i;
            for (int id = 0; id < s_names.Length; id++)
            {
                if (s_names[id].Length == length)
                {
                    (ulong head, ulong tail) = Signature(s_bytes[id]);
                    entries[i++] = new Entry(head, tail, s_names[id], id);
                }
            }
        }

        return entries;
    }

    private readonly record struct Entry(ulong Head, ulong Tail, string Name, int Id);
}
