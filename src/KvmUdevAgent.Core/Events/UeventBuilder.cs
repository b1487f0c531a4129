namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Builds a <see cref="Uevent"/> from raw key and value bytes (which need not be UTF-8), for replay.
/// Unlike the wire parser it does not insist on ACTION, DEVPATH and SUBSYSTEM.
/// </summary>
internal sealed class UeventBuilder
{
    private readonly List<byte> _data = new(256);
    private readonly List<PropertySlice> _slices = [];

    /// <summary>Appends one property; false (and nothing appended) when the key is empty or holds <c>=</c>/NUL, or the value holds NUL.</summary>
    public bool TryAdd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (key.IsEmpty || key.IndexOfAny((byte)'=', (byte)0) >= 0 || value.IndexOf((byte)0) >= 0)
        {
            return false;
        }

        int keyOffset = _data.Count;
        _data.AddRange(key);
        _data.Add((byte)'=');
        int valueOffset = _data.Count;
        _data.AddRange(value);
        _data.Add(0);
        _slices.Add(new PropertySlice(keyOffset, key.Length, valueOffset, value.Length));
        return true;
    }

    public Uevent Build(UeventSource source, bool coldplug, long receivedTimestamp) =>
        new(source, [.. _data], [.. _slices], coldplug, receivedTimestamp);
}
