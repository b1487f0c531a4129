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
    public static bool TryParse(ReadOnlySpan<byte> datagram, UeventSource source, long timestamp, [NotNullWhen(true)] out Uevent? uevent, out RejectReason reason)
    {
        uevent = null;
        if (datagram.Length < MinLength)
        {
            reason = RejectReason.TooShort;
            return false;
        }

        if (datagram[^1] != 0)
        {
            reason = RejectReason.NotNulTerminated;
            return false;
        }

        bool isUdev = datagram.StartsWith(UdevHeader.Prefix);
        if ((source == UeventSource.Kernel && isUdev) || (source == UeventSource.Udev && !isUdev))
        {
            reason = RejectReason.UnexpectedFormat;
            return false;
        }

        reason = isUdev
            ? TryLocateUdevProperties(datagram, out int start, out int length)
            : TryLocateKernelProperties(datagram, out start, out length);
        if (reason != RejectReason.None)
        {
            return false;
        }

        return TryParseProperties(datagram.Slice(start, length), source, timestamp, out uevent, out reason);
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

    // Properties this short are indexed on the stack (two ints each, at most one per three bytes).
    private const int MaxStackBounds = 2048;

    [SkipLocalsInit]
    private static bool TryParseProperties(ReadOnlySpan<byte> properties, UeventSource source, long timestamp, [NotNullWhen(true)] out Uevent? uevent, out RejectReason reason)
    {
        uevent = null;
        if (properties[^1] != 0)
        {
            reason = RejectReason.MalformedProperty;
            return false;
        }

        // Every property is at least "K=\0": this bounds the index before anything is counted. A bad event
        // costs no allocation; a valid one is copied out once, bytes and index together.
        int most = 2 * ((properties.Length / 3) + 1);
        int[]? rented = most > MaxStackBounds ? ArrayPool<int>.Shared.Rent(most) : null;
        try
        {
            Span<int> bounds = rented ?? stackalloc int[MaxStackBounds];
            var keys = default(UeventKeySlots);
            int count = Index(properties, bounds, ref keys);
            if (count < 0)
            {
                reason = RejectReason.MalformedProperty;
                return false;
            }

            bounds = bounds[..(2 * count)];

            // The last occurrence decides (as in Uevent.TryGetValue), so a later empty value un-sets a key.
            reason = !HasValue(keys, UeventKnownKeys.Action, properties, bounds) ? RejectReason.MissingAction
                : !HasValue(keys, UeventKnownKeys.DevPath, properties, bounds) ? RejectReason.MissingDevPath
                : !HasValue(keys, UeventKnownKeys.Subsystem, properties, bounds) ? RejectReason.MissingSubsystem
                : RejectReason.None;
            if (reason != RejectReason.None)
            {
                return false;
            }

            uevent = new Uevent(source, PropertyBounds.Build(properties, bounds), count, keys, coldplug: false, timestamp);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
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
