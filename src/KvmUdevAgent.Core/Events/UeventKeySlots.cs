using System.Runtime.CompilerServices;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Where each of <see cref="UeventKnownKeys"/> last occurs in one event (udev's rule: the last
/// occurrence wins): one byte per key, inside the <see cref="Uevent"/> itself (no object of its own).
/// 0 is absent, n is property n - 1, and <see cref="Beyond"/> says the last occurrence is too far
/// down to fit a byte (an event of 254 properties or more; none that the kernel or udevd sends)
/// and has to be looked for.
/// </summary>
[InlineArray(Length)]
internal struct UeventKeySlots
{
    /// <summary>Room for every known key.</summary>
    public const int Length = 32;

    /// <summary>The key's last occurrence is at property 254 or later.</summary>
    public const byte Beyond = byte.MaxValue;

    private byte _slot;

    /// <summary>Notes that property <paramref name="index"/> has key <paramref name="id"/>; called in property order, so the last wins.</summary>
    public void Record(int id, int index) => this[id] = index < Beyond - 1 ? (byte)(index + 1) : Beyond;

    /// <summary>The index of key <paramref name="id"/>'s last occurrence among the properties of <paramref name="data"/> (<see cref="PropertyBounds"/>), or -1.</summary>
    public readonly int LastIndexOf(int id, ReadOnlySpan<byte> data, ReadOnlySpan<int> bounds)
    {
        byte slot = this[id];
        if (slot != Beyond)
        {
            return slot - 1;
        }

        ReadOnlySpan<byte> key = UeventKnownKeys.Bytes(id);
        for (int i = (bounds.Length / 2) - 1; i >= 0; i--)
        {
            if (PropertyBounds.Key(data, bounds, i).SequenceEqual(key))
            {
                return i;
            }
        }

        return -1;
    }
}
