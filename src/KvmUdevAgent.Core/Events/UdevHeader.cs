using System.Buffers.Binary;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The fixed part of systemd's <c>struct monitor_netlink_header</c> (sd-device/device-monitor.c):
/// <c>char prefix[8] = "libudev"</c>, then eight <c>unsigned</c> fields. <c>magic</c> and the
/// filter hashes are in network order (the kernel's BPF filters read them); <c>header_size</c>,
/// <c>properties_off</c> and <c>properties_len</c> are in the sender's native order, which for a
/// netlink message (same host) is ours.
/// </summary>
internal static class UdevHeader
{
    public const uint Magic = 0xfeedcafe;

    /// <summary>Bytes of the header fields we know; a sender may announce a longer header in <c>header_size</c>.</summary>
    public const int Size = 40;

    public const int MagicOffset = 8;
    public const int HeaderSizeOffset = 12;
    public const int PropertiesOffsetOffset = 16;
    public const int PropertiesLengthOffset = 20;
    public const int SubsystemHashOffset = 24;
    public const int DevTypeHashOffset = 28;
    public const int TagBloomHiOffset = 32;
    public const int TagBloomLoOffset = 36;

    public static ReadOnlySpan<byte> Prefix => "libudev\0"u8;

    public static uint ReadNative(ReadOnlySpan<byte> header, int offset) =>
        BitConverter.IsLittleEndian
            ? BinaryPrimitives.ReadUInt32LittleEndian(header[offset..])
            : BinaryPrimitives.ReadUInt32BigEndian(header[offset..]);

    public static void WriteNative(Span<byte> header, int offset, uint value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header[offset..], value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(header[offset..], value);
        }
    }
}
