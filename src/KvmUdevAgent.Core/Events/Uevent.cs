using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// One uevent, immutable. The properties are kept as the raw <c>KEY=VALUE</c> bytes they arrived
/// in (values may be any bytes but NUL, including invalid UTF-8) followed by an index of where each
/// one's <c>=</c> and NUL are, in one buffer (<see cref="PropertyBounds"/>), so parsing costs one
/// array and this object per event, not one string per property. The handful
/// of properties every stage needs are decoded once, at construction. Where the keys the agent
/// reads (<see cref="UeventKnownKeys"/>) last occur is recorded when the event is built, so looking
/// one of them up reads a slot instead of comparing the keys of every property.
/// </summary>
public sealed class Uevent
{
    // The properties, then their index (PropertyBounds); _count properties.
    private readonly byte[] _data;
    private readonly int _count;
    private readonly UeventKeySlots _keys;
    private string? _kernelName;

    // slices: anywhere in data, in property order (built from decoded or raw properties: replay, coldplug).
    internal Uevent(UeventSource source, byte[] data, PropertySlice[] slices, bool coldplug, long receivedTimestamp)
        : this(source, Pack(data, slices, out int count, out UeventKeySlots keys), count, keys, coldplug, receivedTimestamp)
    {
    }

    // buffer: the properties and their index (PropertyBounds); keys: where the known keys are in it (the
    // parser records them as it reads the keys).
    internal Uevent(UeventSource source, byte[] buffer, int count, in UeventKeySlots keys, bool coldplug, long receivedTimestamp)
    {
        _data = buffer;
        _count = count;
        _keys = keys;
        Source = source;
        Coldplug = coldplug;
        ReceivedTimestamp = receivedTimestamp;
        // A known action word is one of UeventActions' own strings: no lookup in the value cache (issue 15).
        if (TryGetKnown(UeventKnownKeys.Action, out ReadOnlySpan<byte> action))
        {
            Action = UeventActions.Parse(action);
            ActionText = Action == UeventAction.Unknown ? UeventValueCache.GetString(action) : Action.ToWord();
        }
        else
        {
            ActionText = string.Empty;
            Action = UeventAction.Unknown;
        }

        DevPath = GetKnownString(UeventKnownKeys.DevPath) ?? string.Empty;
        Subsystem = GetKnownString(UeventKnownKeys.Subsystem) ?? string.Empty;
        DevType = GetKnownString(UeventKnownKeys.DevType);
        SeqNum = SeqNumOf(buffer, Bounds, keys);
    }

    /// <summary>
    /// SEQNUM of the properties <paramref name="data"/> indexed by <paramref name="bounds"/> (<see cref="PropertyBounds"/>),
    /// or 0 when absent or not a plain number: what <see cref="SeqNum"/> of their event is (the receive loop checks it
    /// before the event is made).
    /// </summary>
    internal static ulong SeqNumOf(ReadOnlySpan<byte> data, ReadOnlySpan<int> bounds, in UeventKeySlots keys)
    {
        int i = keys.LastIndexOf(UeventKnownKeys.SeqNum, data, bounds);
        if (i < 0)
        {
            return 0;
        }

        ReadOnlySpan<byte> seq = PropertyBounds.Value(data, bounds, i);
        return System.Buffers.Text.Utf8Parser.TryParse(seq, out ulong n, out int used) && used == seq.Length ? n : 0;
    }

    /// <summary>Where the event came from.</summary>
    public UeventSource Source { get; }

    /// <summary>The action; <see cref="UeventAction.Unknown"/> for words this version does not know.</summary>
    public UeventAction Action { get; }

    /// <summary>The action word exactly as received.</summary>
    public string ActionText { get; }

    /// <summary>DEVPATH: the device's path below the sysfs root, starting with <c>/devices/</c>.</summary>
    public string DevPath { get; }

    /// <summary>SUBSYSTEM (may be empty for a malformed replay record).</summary>
    public string Subsystem { get; }

    /// <summary>DEVTYPE, when the event has one (<c>usb_device</c>, <c>disk</c>, <c>partition</c>, ...).</summary>
    public string? DevType { get; }

    /// <summary>SEQNUM, or 0 when the event carries none (coldplug events).</summary>
    public ulong SeqNum { get; }

    /// <summary>True for events the agent made from sysfs at start or after an overflow.</summary>
    public bool Coldplug { get; }

    /// <summary>
    /// True for a resync's <c>add</c> of a device the agent had already seen present: its own add was
    /// not lost, so what runs once per plug (hooks) does not run again for it.
    /// </summary>
    public bool KnownBefore { get; private init; }

    /// <summary><see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when the event was received; the base for latency.</summary>
    public long ReceivedTimestamp { get; }

    /// <summary>Number of properties, duplicates included, in arrival order.</summary>
    public int PropertyCount => _count;

    // Made once per event (issue 15: the rules' bare view, the identity and the view each made it again).
    // A race makes it twice, with the same text.

    /// <summary>The kernel name: the last segment of <see cref="DevPath"/>.</summary>
    public string KernelName => _kernelName ??= KernelNameOf(DevPath);

    private static string KernelNameOf(string devPath)
    {
        int slash = devPath.LastIndexOf('/');
        return slash < 0 ? devPath : devPath[(slash + 1)..];
    }

    /// <summary>Looks a property up by its raw key; the last occurrence wins, as in udev. Allocates nothing.</summary>
    public bool TryGetValue(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        int id = UeventKnownKeys.Find(key);
        if (id >= 0)
        {
            return TryGetKnown(id, out value);
        }

        ReadOnlySpan<int> bounds = Bounds;
        for (int i = _count - 1; i >= 0; i--)
        {
            PropertySlice s = PropertyBounds.Slice(bounds, i);
            if (_data.AsSpan(s.KeyOffset, s.KeyLength).SequenceEqual(key))
            {
                value = _data.AsSpan(s.ValueOffset, s.ValueLength);
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>
    /// A property decoded as UTF-8 (invalid bytes become U+FFFD), or null when absent. Short values that
    /// repeat (the action, subsystem, DEVPATH, driver ...) come from <see cref="UeventValueCache"/>: the
    /// same text, not a new string per event.
    /// </summary>
    public string? GetString(string key) =>
        TryGetValue(key, out ReadOnlySpan<byte> value) ? UeventValueCache.GetString(value) : null;

    /// <summary>
    /// A property that is a plain decimal number (ASCII digits only, as BUSNUM and DEVNUM: <c>"005"</c> is 5),
    /// read from its bytes without decoding them; null when absent or anything else (a sign, a space, an overflow).
    /// </summary>
    internal int? GetDecimal(string key) =>
        TryGetValue(key, out ReadOnlySpan<byte> value) && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;

    /// <summary>Looks a property up by its key as text (the UTF-8 bytes of <paramref name="key"/>); the last occurrence wins.</summary>
    internal bool TryGetValue(string key, out ReadOnlySpan<byte> value)
    {
        // The keys the agent reads are found where the parser put them (issue 15), the others by a scan.
        int id = UeventKnownKeys.Find(key);
        if (id >= 0)
        {
            return TryGetKnown(id, out value);
        }

        // Every key the agent asks for is ASCII: compared as it stands, without encoding it first. Ascii.Equals
        // never matches a key that is not ASCII, which is looked up encoded below. The arrays are read through
        // locals: as fields they were loaded again on every turn of the loop (issue 15's profile).
        ReadOnlySpan<int> bounds = Bounds;
        ReadOnlySpan<byte> data = _data;
        for (int i = _count - 1; i >= 0; i--)
        {
            PropertySlice s = PropertyBounds.Slice(bounds, i);
            if (s.KeyLength == key.Length && System.Text.Ascii.Equals(data.Slice(s.KeyOffset, s.KeyLength), key))
            {
                value = data.Slice(s.ValueOffset, s.ValueLength);
                return true;
            }
        }

        if (System.Text.Ascii.IsValid(key))
        {
            value = default;
            return false;
        }

        Span<byte> keyBytes = key.Length <= 128 ? stackalloc byte[key.Length * 3] : new byte[Encoding.UTF8.GetMaxByteCount(key.Length)];
        int n = Encoding.UTF8.GetBytes(key, keyBytes);
        return TryGetValue(keyBytes[..n], out value);
    }

    /// <summary>
    /// Looks up one of <see cref="UeventKnownKeys"/> by its id: one slot read, and nothing more when the
    /// event does not have it. The same answer as <see cref="TryGetValue(string, out ReadOnlySpan{byte})"/> with its name.
    /// </summary>
    internal bool TryGetKnown(int knownKey, out ReadOnlySpan<byte> value)
    {
        ReadOnlySpan<int> bounds = Bounds;
        int i = _keys.LastIndexOf(knownKey, _data, bounds);
        if (i < 0)
        {
            value = default;
            return false;
        }

        value = PropertyBounds.Value(_data, bounds, i);
        return true;
    }

    /// <summary><see cref="GetString"/> of one of <see cref="UeventKnownKeys"/>, by its id.</summary>
    internal string? GetKnownString(int knownKey) =>
        TryGetKnown(knownKey, out ReadOnlySpan<byte> value) ? UeventValueCache.GetString(value) : null;

    /// <summary><see cref="GetDecimal"/> of one of <see cref="UeventKnownKeys"/>, by its id.</summary>
    internal int? GetKnownDecimal(int knownKey) =>
        TryGetKnown(knownKey, out ReadOnlySpan<byte> value) && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;

    /// <summary>The raw bytes of property <paramref name="index"/> (0-based, arrival order).</summary>
    public void GetProperty(int index, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        PropertySlice s = PropertyBounds.Slice(Bounds, index);
        key = _data.AsSpan(s.KeyOffset, s.KeyLength);
        value = _data.AsSpan(s.ValueOffset, s.ValueLength);
    }

    /// <summary>All properties decoded as UTF-8, in arrival order (allocates; for display and recording).</summary>
    public IEnumerable<KeyValuePair<string, string>> Properties
    {
        get
        {
            for (int i = 0; i < _count; i++)
            {
                PropertySlice s = PropertyBounds.Slice(PropertyBounds.Of(_data, _count), i);
                yield return new(
                    Encoding.UTF8.GetString(_data, s.KeyOffset, s.KeyLength),
                    Encoding.UTF8.GetString(_data, s.ValueOffset, s.ValueLength));
            }
        }
    }

    /// <summary>
    /// Builds an event from decoded properties (coldplug, replay, tests). Keys must be non-empty and
    /// free of <c>=</c> and NUL; values free of NUL. Throws <see cref="ArgumentException"/> otherwise.
    /// </summary>
    public static Uevent Create(UeventSource source, IEnumerable<KeyValuePair<string, string>> properties, bool coldplug = false, long receivedTimestamp = 0, bool knownBefore = false)
    {
        var buffer = new List<byte>(256);
        var slices = new List<PropertySlice>(16);
        foreach (var (key, value) in properties)
        {
            if (key.Length == 0 || key.Contains('=') || key.Contains('\0'))
            {
                throw new ArgumentException($"invalid property key '{key}'", nameof(properties));
            }

            if (value.Contains('\0'))
            {
                throw new ArgumentException($"property {key} contains NUL", nameof(properties));
            }

            int keyOffset = buffer.Count;
            buffer.AddRange(Encoding.UTF8.GetBytes(key));
            int keyLength = buffer.Count - keyOffset;
            buffer.Add((byte)'=');
            int valueOffset = buffer.Count;
            buffer.AddRange(Encoding.UTF8.GetBytes(value));
            slices.Add(new PropertySlice(keyOffset, keyLength, valueOffset, buffer.Count - valueOffset));
            buffer.Add(0);
        }

        return new Uevent(source, buffer.ToArray(), slices.ToArray(), coldplug, receivedTimestamp) { KnownBefore = knownBefore };
    }

    private ReadOnlySpan<int> Bounds => PropertyBounds.Of(_data, _count);

    // The properties at slices (anywhere in data) laid out afresh in one buffer, each KEY=VALUE\0, with their index.
    private static byte[] Pack(byte[] data, PropertySlice[] slices, out int count, out UeventKeySlots keys)
    {
        int length = 0;
        foreach (PropertySlice s in slices)
        {
            length += s.KeyLength + s.ValueLength + 2;
        }

        count = slices.Length;
        byte[] buffer = new byte[PropertyBounds.IndexOffset(length) + (count * PropertyBounds.EntryBytes)];
        Span<int> bounds = MemoryMarshal.Cast<byte, int>(buffer.AsSpan(buffer.Length - (count * PropertyBounds.EntryBytes)));
        keys = default;
        int at = 0;
        for (int i = 0; i < count; i++)
        {
            PropertySlice s = slices[i];
            ReadOnlySpan<byte> key = data.AsSpan(s.KeyOffset, s.KeyLength);
            key.CopyTo(buffer.AsSpan(at));
            int id = UeventKnownKeys.Find(key);
            if (id >= 0)
            {
                keys.Record(id, i);
            }

            at += s.KeyLength;
            bounds[2 * i] = at;
            buffer[at++] = (byte)'=';
            data.AsSpan(s.ValueOffset, s.ValueLength).CopyTo(buffer.AsSpan(at));
            at += s.ValueLength;
            bounds[(2 * i) + 1] = at;
            buffer[at++] = 0;
        }

        return buffer;
    }

    /// <inheritdoc />
    public override string ToString() => $"{ActionText} {DevPath} ({Subsystem})";
}

/// <summary>Where one <c>KEY=VALUE</c> property sits in an event's buffer.</summary>
internal readonly record struct PropertySlice(int KeyOffset, int KeyLength, int ValueOffset, int ValueLength);
