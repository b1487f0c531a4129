using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The layout of a <see cref="Uevent"/>'s one buffer (issue 15: one allocation per event instead of a byte
/// copy, a slice array and their headers): the <c>KEY=VALUE\0</c> properties back to back, padded to four
/// bytes, then two <see cref="int"/>s per property, where its <c>=</c> and its NUL are. A property starts
/// one past the previous one's NUL (the first at 0), so these two say where its key and value are.
/// </summary>
internal static class PropertyBounds
{
    /// <summary>Bytes of index per property.</summary>
    public const int EntryBytes = 2 * sizeof(int);

    /// <summary>Where the index starts in a buffer whose properties are <paramref name="propertiesLength"/> bytes.</summary>
    public static int IndexOffset(int propertiesLength) => (propertiesLength + 3) & ~3;

    /// <summary>A new buffer: <paramref name="properties"/> and the index <paramref name="bounds"/> (<c>=</c>, NUL per property).</summary>
    public static byte[] Build(ReadOnlySpan<byte> properties, ReadOnlySpan<int> bounds)
    {
        int at = IndexOffset(properties.Length);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(at + (bounds.Length * sizeof(int)));
        properties.CopyTo(buffer);
        buffer.AsSpan(properties.Length, at - properties.Length).Clear();
        MemoryMarshal.AsBytes(bounds).CopyTo(buffer.AsSpan(at));
        return buffer;
    }

    /// <summary>The index of a buffer holding <paramref name="count"/> properties.</summary>
    public static ReadOnlySpan<int> Of(byte[] buffer, int count) =>
        MemoryMarshal.Cast<byte, int>(buffer.AsSpan(buffer.Length - (count * EntryBytes)));

    /// <summary>Where property <paramref name="i"/> sits.</summary>
    public static PropertySlice Slice(ReadOnlySpan<int> bounds, int i)
    {
        int start = i == 0 ? 0 : bounds[(2 * i) - 1] + 1;
        int eq = bounds[2 * i];
        return new PropertySlice(start, eq - start, eq + 1, bounds[(2 * i) + 1] - eq - 1);
    }

    /// <summary>The key of property <paramref name="i"/>.</summary>
    public static ReadOnlySpan<byte> Key(ReadOnlySpan<byte> data, ReadOnlySpan<int> bounds, int i)
    {
        int start = i == 0 ? 0 : bounds[(2 * i) - 1] + 1;
        return data[start..bounds[2 * i]];
    }

    /// <summary>The value of property <paramref name="i"/>.</summary>
    public static ReadOnlySpan<byte> Value(ReadOnlySpan<byte> data, ReadOnlySpan<int> bounds, int i) =>
        data[(bounds[2 * i] + 1)..bounds[(2 * i) + 1]];
}
