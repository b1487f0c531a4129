using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Parses one netlink uevent datagram, in either wire format, into a <see cref="Uevent"/>.
/// Never throws on bad input: every rejection carries a <see cref="RejectReason"/>.
/// Costs one copy of the property bytes and one slice index per event, nothing per property;
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

    private static bool TryParseProperties(ReadOnlySpan<byte> properties, UeventSource source, long timestamp, [NotNullWhen(true)] out Uevent? uevent, out RejectReason reason)
    {
        uevent = null;
        if (properties[^1] != 0)
        {
            reason = RejectReason.MalformedProperty;
            return false;
        }

        // One pass: validate and index, into a pooled index (every entry ends in a NUL: a vectorized count
        // sizes it); a valid event's index is then copied out at its exact size, a bad one costs nothing.
        int entries = properties.Count((byte)0);
        PropertySlice[] index = ArrayPool<PropertySlice>.Shared.Rent(entries);
        try
        {
            return TryIndexProperties(properties, index.AsSpan(0, entries), source, timestamp, out uevent, out reason);
        }
        finally
        {
            ArrayPool<PropertySlice>.Shared.Return(index);
        }
    }

    private static bool TryIndexProperties(ReadOnlySpan<byte> properties, Span<PropertySlice> slices, UeventSource source, long timestamp, [NotNullWhen(true)] out Uevent? uevent, out RejectReason reason)
    {
        uevent = null;
        var keys = default(UeventKeySlots);
        int offset = 0;
        for (int i = 0; i < slices.Length; i++)
        {
            ReadOnlySpan<byte> rest = properties[offset..];
            int end = rest.IndexOf((byte)0);
            ReadOnlySpan<byte> entry = rest[..end];
            int eq = entry.IndexOf((byte)'=');
            if (eq <= 0)
            {
                reason = RejectReason.MalformedProperty;
                return false;
            }

            int id = UeventKnownKeys.Find(entry[..eq]);
            if (id >= 0)
            {
                keys.Record(id, i);
            }

            slices[i] = new PropertySlice(offset, eq, offset + eq + 1, end - eq - 1);
            offset += end + 1;
        }

        // The last occurrence decides (as in Uevent.TryGetValue), so a later empty value un-sets a key.
        reason = !HasValue(keys, UeventKnownKeys.Action, properties, slices) ? RejectReason.MissingAction
            : !HasValue(keys, UeventKnownKeys.DevPath, properties, slices) ? RejectReason.MissingDevPath
            : !HasValue(keys, UeventKnownKeys.Subsystem, properties, slices) ? RejectReason.MissingSubsystem
            : RejectReason.None;
        if (reason != RejectReason.None)
        {
            return false;
        }

        byte[] data = properties.ToArray();
        uevent = new Uevent(source, data, slices.ToArray(), keys, coldplug: false, timestamp);
        return true;
    }

    private static bool HasValue(in UeventKeySlots keys, int id, ReadOnlySpan<byte> properties, ReadOnlySpan<PropertySlice> slices)
    {
        int i = keys.LastIndexOf(id, properties, slices);
        return i >= 0 && slices[i].ValueLength > 0;
    }
}
