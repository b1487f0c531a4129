using System.Text;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Builds datagrams in systemd-udevd's netlink format, laid out as <c>device_monitor_send_device</c>
/// does: the 40-byte header (<c>"libudev"</c>, magic big-endian, <c>header_size</c> =
/// <c>properties_off</c> = 40, <c>properties_len</c>), then the properties as <c>KEY=VALUE\0</c>.
/// The subsystem/devtype hashes and the tag bloom filter are left zero: they only feed the
/// receivers' in-kernel BPF filters, which a zero value never matches, and no receiver here uses them.
/// For tests, benchmarks and injection.
/// </summary>
internal static class UdevMessageWriter
{
    /// <summary>A datagram carrying <paramref name="properties"/> in order (duplicates kept).</summary>
    public static byte[] Write(IEnumerable<KeyValuePair<string, string>> properties) =>
        WriteRaw(KernelMessageWriter.EncodeProperties(properties));

    /// <summary>A datagram carrying <paramref name="uevent"/>'s raw properties, byte for byte.</summary>
    public static byte[] Write(Uevent uevent) => WriteRaw(KernelMessageWriter.EncodeProperties(uevent));

    /// <summary>A datagram around already-encoded <c>KEY=VALUE\0</c> properties (not validated: tests use this for malformed input).</summary>
    public static byte[] WriteRaw(ReadOnlySpan<byte> propertiesNulstr)
    {
        byte[] datagram = new byte[UdevHeader.Size + propertiesNulstr.Length];
        Span<byte> header = datagram;
        UdevHeader.Prefix.CopyTo(header);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header[UdevHeader.MagicOffset..], UdevHeader.Magic);
        UdevHeader.WriteNative(header, UdevHeader.HeaderSizeOffset, UdevHeader.Size);
        UdevHeader.WriteNative(header, UdevHeader.PropertiesOffsetOffset, UdevHeader.Size);
        UdevHeader.WriteNative(header, UdevHeader.PropertiesLengthOffset, (uint)propertiesNulstr.Length);
        propertiesNulstr.CopyTo(datagram.AsSpan(UdevHeader.Size));
        return datagram;
    }

    /// <summary>Convenience for tests: <c>KEY=VALUE</c> strings.</summary>
    public static byte[] Write(params string[] keyValues) => WriteRaw(Encoding.UTF8.GetBytes(string.Concat(keyValues.Select(kv => kv + "\0"))));
}
