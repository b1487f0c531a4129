using System.Text;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Builds datagrams in the kernel's format (<c>lib/kobject_uevent.c</c>): <c>ACTION@DEVPATH\0</c>
/// followed by <c>KEY=VALUE\0</c> properties. For tests and benchmarks: the kernel is the only
/// legitimate sender of this format, and the kernel source drops anything user space sends.
/// </summary>
internal static class KernelMessageWriter
{
    /// <summary>A datagram whose header is made from the ACTION and DEVPATH properties (empty when absent).</summary>
    public static byte[] Write(IEnumerable<KeyValuePair<string, string>> properties)
    {
        var list = properties as IReadOnlyList<KeyValuePair<string, string>> ?? properties.ToList();
        string action = list.LastOrDefault(p => p.Key == UeventKeys.Action).Value ?? string.Empty;
        string devPath = list.LastOrDefault(p => p.Key == UeventKeys.DevPath).Value ?? string.Empty;
        return WriteRaw(Encoding.UTF8.GetBytes(action + "@" + devPath), EncodeProperties(list));
    }

    /// <summary>A datagram from a raw header (without its NUL) and already-encoded properties; not validated.</summary>
    public static byte[] WriteRaw(ReadOnlySpan<byte> header, ReadOnlySpan<byte> propertiesNulstr)
    {
        byte[] datagram = new byte[header.Length + 1 + propertiesNulstr.Length];
        header.CopyTo(datagram);
        propertiesNulstr.CopyTo(datagram.AsSpan(header.Length + 1));
        return datagram;
    }

    /// <summary>Encodes properties as <c>KEY=VALUE\0</c>..., in order.</summary>
    public static byte[] EncodeProperties(IEnumerable<KeyValuePair<string, string>> properties)
    {
        var buffer = new MemoryStream();
        foreach (var (key, value) in properties)
        {
            buffer.Write(Encoding.UTF8.GetBytes(key));
            buffer.WriteByte((byte)'=');
            buffer.Write(Encoding.UTF8.GetBytes(value));
            buffer.WriteByte(0);
        }

        return buffer.ToArray();
    }

    /// <summary>Encodes an event's raw properties as <c>KEY=VALUE\0</c>..., byte for byte.</summary>
    public static byte[] EncodeProperties(Uevent uevent)
    {
        var buffer = new MemoryStream();
        for (int i = 0; i < uevent.PropertyCount; i++)
        {
            uevent.GetProperty(i, out var key, out var value);
            buffer.Write(key);
            buffer.WriteByte((byte)'=');
            buffer.Write(value);
            buffer.WriteByte(0);
        }

        return buffer.ToArray();
    }
}
