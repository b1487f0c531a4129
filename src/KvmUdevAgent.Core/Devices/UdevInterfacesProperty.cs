using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// udev's <c>ID_USB_INTERFACES</c> (<c>":080650:030101:"</c>, one <c>ccsspp</c> per distinct interface
/// class triple) as the interface list. A machine has a handful of distinct values, and every event of a
/// USB device, its interfaces and its disks carries one: each parsed list is kept in a small direct-mapped
/// cache (issue 15: parsing it again was ~270 bytes and six strings per event). A value is found only when
/// its text is exactly a held entry's, so the list is always what <see cref="ParseUncached"/> makes of
/// it; a flood of distinct values costs a parse each and holds at most <see cref="Slots"/> entries.
/// Safe from any thread: an entry is immutable and replaced whole.
/// </summary>
internal static class UdevInterfacesProperty
{
    private const int Slots = 64;

    // Longer values (hostile, or a device with very many interface classes) are parsed each time, never held.
    private const int MaxCachedLength = 256;

    private static readonly Entry?[] s_entries = new Entry?[Slots];

    /// <summary>The list <paramref name="packed"/> says, with its problem when udev left it unclosed.</summary>
    public static UsbInterfaceList Parse(string packed)
    {
        if (packed.Length > MaxCachedLength)
        {
            return ParseUncached(packed);
        }

        int slot = packed.GetHashCode() & (Slots - 1);
        Entry? held = Volatile.Read(ref s_entries[slot]);
        if (held is not null && string.Equals(held.Packed, packed, StringComparison.Ordinal))
        {
            return held.List;
        }

        UsbInterfaceList parsed = ParseUncached(packed);
        Volatile.Write(ref s_entries[slot], new Entry(packed, parsed));
        return parsed;
    }

    /// <summary>The parse itself, without the cache (for tests that pin the two together).</summary>
    internal static UsbInterfaceList ParseUncached(string packed)
    {
        var builder = ImmutableArray.CreateBuilder<string>();
        foreach (Range r in packed.AsSpan().Split(':'))
        {
            ReadOnlySpan<char> t = packed.AsSpan()[r];
            if (t.Length == 6 && IsHexByte(t[..2]) && IsHexByte(t[2..4]) && IsHexByte(t[4..]))
            {
                string entry = string.Concat(t[..2].ToString(), ":", t[2..4].ToString(), ":", t[4..].ToString()).ToLowerInvariant();
                if (!builder.Contains(entry))
                {
                    builder.Add(entry);
                }
            }
        }

        // usb_id closes the list with ':' only when its walk ended normally; on "Corrupt data"
        // it exports what it had, unclosed.
        string? problem = packed.Length > 0 && !packed.EndsWith(':')
            ? "ID_USB_INTERFACES is not closed with ':' (udev found the descriptors corrupt)"
            : null;
        return new UsbInterfaceList(builder.ToImmutable(), problem);
    }

    /// <summary>Two ASCII hex digits (either case): one byte of a class triple.</summary>
    internal static bool IsHexByte(ReadOnlySpan<char> s) => s.Length == 2 && char.IsAsciiHexDigit(s[0]) && char.IsAsciiHexDigit(s[1]);

    private sealed record Entry(string Packed, UsbInterfaceList List);
}
