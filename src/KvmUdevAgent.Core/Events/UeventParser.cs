using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Parses one netlink uevent datagram, in either wire format, into a <see cref="Uevent"/>.
/// Never throws on bad input: every rejection carries a <see cref="RejectReason"/>.
/// Costs one array per event (the property bytes and their index, <see cref="PropertyBounds"/>), nothing per property;
/// repeated short values (action, subsystem, DEVPATH) share their text (<see cref="UeventValueCache"/>).
/// </summary>
internal static class UeventParser
{
    /// <summary>systemd's device monitor rejects anything shorter; no valid event is this short.</summary>
    public const int MinLength = 32;

    /// <summary>The smallest kernel header systemd accepts, <c>a@/d</c>, with its NUL.</summary>
    private const int MinKernelHeaderLength = 5;

    /// <summary>
    /// Parses <paramref name="datagram"/>. Which format is expected depends on <paramref name="source"/>:
    /// <see cref="UeventSource.Kernel"/> wants <c>ACTION@DEVPATH</c>, <see cref="UeventSource.Udev"/>
    /// wants the libudev header; any other source accepts either (replay, tests).
    /// </summary>
    [SkipLocalsInit]
    public static bool TryParse(ReadOnlySpan<byte> datagram, UeventSource source, long timestamp, [NotNullWhen(true)] out Uevent? uevent, out RejectReason reason)
    {
        uevent = null;
        using var index = new UeventIndexBuffer(datagram.Length, stackalloc int[MaxStackBounds]);
        reason = TryIndex(datagram, source, index.Span, out int start, out int length, out int count, out UeventKeySlots keys);
        if (reason != RejectReason.None)
        {
            return false;
        }

        uevent = new Uevent(source, PropertyBounds.Build(datagram.Slice(start, length), index.Span[..(2 * count)]), count, keys, coldplug: false, timestamp);
        return true;
    }

    /// <summary>Index entries (<see cref="TryIndex"/>'s <c>bounds</c>) that no datagram of this many bytes exceeds.</summary>
    public static int MaxBounds(int datagramLength) => 2 * ((datagramLength / 3) + 1);

    /// <summary>Bounds that fit events this short are indexed on the stack (<c>stackalloc int[MaxStackBounds]</c>).</summary>
    public const int MaxStackBounds = 2048;

    /// <summary>
    /// Exactly <see cref="TryParse"/>'s checks, in its order, without building the event (issue 15: the
    /// receive loop checks here and the event is made when the pipeline takes it from the ring). On
    /// success the properties are <paramref name="datagram"/>[<paramref name="start"/>..+<paramref name="length"/>],
    /// indexed by the first 2 × <paramref name="count"/> entries of <paramref name="bounds"/> (<see cref="PropertyBounds"/>),
    /// and <paramref name="keys"/> says where the known keys are. <paramref name="bounds"/> must hold
    /// <see cref="MaxBounds"/> entries.
    /// </summary>
    public static RejectReason TryIndex(ReadOnlySpan<byte> datagram, UeventSource source, Span<int> bounds, out int start, out int length, out int count, out UeventKeySlots keys)
    {
        start = length = count = 0;
        keys = default;
        if (datagram.Length < MinLength)
        {
            return RejectReason.TooShort;
        }

        if (datagram[^1] != 0)
        {
            return RejectReason.NotNulTerminated;
        }

        bool isUdev = datagram.StartsWith(UdevHeader.Prefix);
        if ((source == UeventSource.Kernel && isUdev) || (source == UeventSource.Udev && !isUdev))
        {
            return RejectReason.UnexpectedFormat;
        }

        RejectReason reason = isUdev
            ? TryLocateUdevProperties(datagram, out start, out length)
            : TryLocateKernelProperties(datagram, out start, out length);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        if (bounds.Length < MaxBounds(datagram.Length))
        {
            throw new ArgumentException("the index has too few entries for this datagram", nameof(bounds));
        }

        return TryIndexProperties(datagram.Slice(start, length), bounds, out count, out keys);
    }

    private static RejectReason TryLocateUdevProperties(ReadOnlySpan<byte> datagram, out int start, out int length)
    {
        start = length = 0;
        if (datagram.Length < UdevHeader.Size)
        {
            return RejectReason.TooShort;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[UdevHeader.MagicOffset..]) != UdevHeader.Magic)
        {
            return RejectReason.BadMagic;
        }

        // Trust only properties_off/properties_len (never the header size we compiled against):
        // a newer sender may append header fields. The properties must not overlap the fields we know.
        uint offset = UdevHeader.ReadNative(datagram, UdevHeader.PropertiesOffsetOffset);
        uint count = UdevHeader.ReadNative(datagram, UdevHeader.PropertiesLengthOffset);
        if (offset < UdevHeader.Size || offset >= (uint)datagram.Length || count == 0 || count > (uint)datagram.Length - offset)
        {
            return RejectReason.BadPropertiesBounds;
        }

        start = (int)offset;
        length = (int)count;
        return RejectReason.None;
    }

    private static RejectReason TryLocateKernelProperties(ReadOnlySpan<byte> datagram, out int start, out int length)
    {
        start = length = 0;
        int headerEnd = datagram.IndexOf((byte)0);
        ReadOnlySpan<byte> header = datagram[..headerEnd];
        int at = header.IndexOf("@/"u8);
        if (headerEnd + 1 < MinKernelHeaderLength || at <= 0 || headerEnd + 1 >= datagram.Length)
        {
            return RejectReason.BadKernelHeader;
        }

        start = headerEnd + 1;
        length = datagram.Length - start;
        return RejectReason.None;
    }

    private static RejectReason TryIndexProperties(ReadOnlySpan<byte> properties, Span<int> bounds, out int count, out UeventKeySlots keys)
    {
        keys = default;
        count = 0;
        if (properties[^1] != 0)
        {
            return RejectReason.MalformedProperty;
        }

        // Every property is at least "K=\0": the caller's index is bounded by that before anything is
        // counted. A bad event costs no allocation; a valid one is copied out once, bytes and index together.
        count = Index(properties, bounds, ref keys);
        if (count < 0)
        {
            count = 0;
            return RejectReason.MalformedProperty;
        }

        ReadOnlySpan<int> found = bounds[..(2 * count)];

        // The last occurrence decides (as in Uevent.TryGetValue), so a later empty value un-sets a key.
        return !HasValue(keys, UeventKnownKeys.Action, properties, found) ? RejectReason.MissingAction
            : !HasValue(keys, UeventKnownKeys.DevPath, properties, found) ? RejectReason.MissingDevPath
            : !HasValue(keys, UeventKnownKeys.Subsystem, properties, found) ? RejectReason.MissingSubsystem
            : RejectReason.None;
    }

    /// <summary>
    /// Finds each property's <c>=</c> (its first) and NUL, writes them to <paramref name="bounds"/> and
    /// records the known keys; the number of properties, or -1 when one has no <c>=</c> or an empty key.
    /// <paramref name="properties"/> ends in a NUL.
    /// </summary>
    /// <remarks>
    /// Issue 15: one vectorized pass marks the NULs and <c>=</c> of 32 bytes at a time, and the loop walks the
    /// marks, instead of two searches per property (each a call that sets up vectors for a dozen bytes).
    /// </remarks>
    private static int Index(ReadOnlySpan<byte> properties, Span<int> bounds, ref UeventKeySlots keys)
    {
        ref byte first = ref MemoryMarshal.GetReference(properties);
        int length = properties.Length;
        int count = 0;
        int start = 0;
        int eq = -1;
        for (int block = 0; block < length; block += 32)
        {
            uint nuls;
            uint eqs;
            if (block + 32 <= length)
            {
                Vector128<byte> low = Vector128.LoadUnsafe(ref first, (nuint)block);
                Vector128<byte> high = Vector128.LoadUnsafe(ref first, (nuint)block + 16);
                nuls = Vector128.Equals(low, Vector128<byte>.Zero).ExtractMostSignificantBits()
                    | (Vector128.Equals(high, Vector128<byte>.Zero).ExtractMostSignificantBits() << 16);
                eqs = Vector128.Equals(low, Vector128.Create((byte)'=')).ExtractMostSignificantBits()
                    | (Vector128.Equals(high, Vector128.Create((byte)'=')).ExtractMostSignificantBits() << 16);
            }
            else
            {
                nuls = eqs = 0;
                for (int i = block; i < length; i++)
                {
                    byte b = Unsafe.Add(ref first, i);
                    nuls |= (b == 0 ? 1u : 0u) << (i - block);
                    eqs |= (b == (byte)'=' ? 1u : 0u) << (i - block);
                }
            }

            while (true)
            {
                if (eq < 0)
                {
                    // Looking for the key's end: a NUL first means the property has no '='.
                    uint marks = nuls | eqs;
                    if (marks == 0)
                    {
                        break;
                    }

                    int bit = BitOperations.TrailingZeroCount(marks);
                    eq = block + bit;
                    if ((nuls & (1u << bit)) != 0 || eq == start)
                    {
                        return -1;
                    }

                    uint through = ~(uint.MaxValue << bit << 1);
                    nuls &= ~through;
                    eqs &= ~through;
                }
                else
                {
                    // Looking for the value's end; any '=' before it belongs to the value.
                    if (nuls == 0)
                    {
                        break;
                    }

                    int bit = BitOperations.TrailingZeroCount(nuls);
                    int end = block + bit;
                    int id = UeventKnownKeys.Find(properties[start..eq]);
                    if (id >= 0)
                    {
                        keys.Record(id, count);
                    }

                    bounds[2 * count] = eq;
                    bounds[(2 * count) + 1] = end;
                    count++;
                    start = end + 1;
                    eq = -1;
                    uint through = ~(uint.MaxValue << bit << 1);
                    nuls &= ~through;
                    eqs &= ~through;
                }
            }
        }

        // The last byte is a NUL, so the last property ended there (or had no '=' and was refused).
        return count;
    }

    private static bool HasValue(in UeventKeySlots keys, int id, ReadOnlySpan<byte> properties, ReadOnlySpan<int> bounds)
    {
        int i = keys.LastIndexOf(id, properties, bounds);
        return i >= 0 && bounds[(2 * i) + 1] > bounds[2 * i] + 1;
    }
}
