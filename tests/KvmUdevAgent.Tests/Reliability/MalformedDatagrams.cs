using System.Buffers.Binary;
using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>One datagram that a daemon must drop, the uid it is sent with, and why it is bad.</summary>
internal sealed record MalformedDatagram(string Kind, byte[] Bytes, uint Uid)
{
    public override string ToString() => $"{Kind} uid={Uid} len={Bytes.Length}: {Convert.ToHexString(Bytes.AsSpan(0, Math.Min(64, Bytes.Length)))}";
}

/// <summary>
/// CsCheck generators of datagrams a uevent source must drop: each starts from a well-formed
/// message (random properties, often a real plug of a device a rule would route) and breaks
/// exactly one thing — the sender, the format, the magic, the header length, the
/// <c>properties_off</c>/<c>properties_len</c> bounds, the final NUL, a property, a required key.
/// </summary>
internal static class MalformedDatagrams
{
    private static readonly Gen<uint> s_uid = Gen.Int[1, 65534].Select(i => (uint)i);

    private static readonly Gen<string> s_token = Text("abcdefghijklmnopqrstuvwxyz0123456789_:.-", 1, 24);

    private static readonly Gen<List<KeyValuePair<string, string>>> s_properties =
        Gen.Select(
            Gen.OneOf("add", "remove", "bind", "change", "unbind"),
            s_token,
            Gen.OneOf("usb", "block", "scsi"),
            Gen.Select(Text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", 1, 16), Text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 /", 0, 40)).Array[0, 6])
        .Select((action, path, subsystem, extra) =>
        {
            var list = new List<KeyValuePair<string, string>>
            {
                new(UeventKeys.Action, action),
                new(UeventKeys.DevPath, "/devices/pci0000:00/" + path),
                new(UeventKeys.Subsystem, subsystem),
            };
            list.AddRange(extra.Select(kv => new KeyValuePair<string, string>("X" + kv.Item1, kv.Item2)));
            return list;
        });

    /// <summary>Bad on the udev group (netlink group 2), for a daemon with <c>source: udev</c>.</summary>
    /// <param name="valid">Well-formed udev messages of a device a rule routes (sent only with a non-root uid or broken).</param>
    public static Gen<MalformedDatagram> ForUdevGroup(IReadOnlyList<byte[]> valid) =>
        Gen.Frequency(
            (3, Gen.Select(Gen.Int[0, valid.Count - 1], s_uid).Select((i, uid) => new MalformedDatagram("non-root sender", valid[i], uid))),
            (2, s_properties.Select(s_uid, (p, uid) => new MalformedDatagram("non-root sender", UdevMessageWriter.Write(p), uid))),
            (2, s_properties.Select(p => new MalformedDatagram("kernel format on the udev group", KernelMessageWriter.Write(p), 0))),
            (2, Base(valid).Select(Gen.UInt, (m, magic) => Root("bad magic", With(m, d => BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(UdevHeader.MagicOffset), magic == UdevHeader.Magic ? 0 : magic))))),
            (2, Base(valid).Select(Gen.Int[1, UdevHeader.Size - 1], (m, n) => Root("truncated header", m[..n]))),
            (2, Base(valid).Select(Gen.UInt, (m, extra) => Root("properties_off past the end", With(m, d => UdevHeader.WriteNative(d, UdevHeader.PropertiesOffsetOffset, (uint)Math.Min((ulong)d.Length + (extra % 1_000_000), uint.MaxValue)))))),
            (1, Base(valid).Select(Gen.Int[0, UdevHeader.Size - 1], (m, off) => Root("properties_off into the header", With(m, d => UdevHeader.WriteNative(d, UdevHeader.PropertiesOffsetOffset, (uint)off))))),
            (2, Base(valid).Select(Gen.Int[1, 1_000_000], (m, extra) => Root("properties_len past the end", With(m, d => UdevHeader.WriteNative(d, UdevHeader.PropertiesLengthOffset, (uint)(d.Length - UdevHeader.Size + extra)))))),
            (2, Base(valid).Select(Gen.Byte[1, 255], (m, b) => Root("missing final NUL", With(m, d => d[^1] = b)))),
            (1, s_properties.Select(Text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 12), (p, junk) => Root("property without '='", UdevMessageWriter.WriteRaw(Encode(p, junk + "\0"))))),
            (1, s_properties.Select(Gen.Int[0, 2], (p, drop) => Root("missing " + p[drop].Key, UdevMessageWriter.Write(p.Where((_, i) => i != drop))))),
            (1, Gen.Byte.Array[1, 600].Where(b => !b.AsSpan().StartsWith(UdevHeader.Prefix)).Select(b => Root("random bytes", b))));

    /// <summary>Bad on the kernel group (netlink group 1), for a daemon with <c>source: kernel</c>: every one is sent from user space.</summary>
    /// <param name="valid">Well-formed kernel messages a rule would route, if the kernel had sent them.</param>
    public static Gen<MalformedDatagram> ForKernelGroup(IReadOnlyList<byte[]> valid) =>
        Gen.Frequency(
            (3, Gen.Int[0, valid.Count - 1].Select(i => Root("user-space sender of a valid message", valid[i]))),
            (2, s_properties.Select(p => Root("user-space sender", KernelMessageWriter.Write(p)))),
            (1, s_properties.Select(p => Root("udev format on the kernel group", UdevMessageWriter.Write(p)))),
            (1, s_properties.Select(Gen.Int[1, 30], (p, cut) => { byte[] d = KernelMessageWriter.Write(p); return Root("truncated", d[..Math.Max(1, d.Length - cut)]); })),
            (1, Gen.Byte.Array[1, 600].Select(b => Root("random bytes", b))));

    private static Gen<string> Text(string chars, int min, int max) => Gen.Char[chars].Array[min, max].Select(a => new string(a));

    private static Gen<byte[]> Base(IReadOnlyList<byte[]> valid) =>
        Gen.Frequency((1, Gen.Int[0, valid.Count - 1].Select(i => valid[i])), (2, s_properties.Select(p => UdevMessageWriter.Write(p))));

    private static MalformedDatagram Root(string kind, byte[] bytes) => new(kind, bytes, 0);

    private static byte[] With(byte[] message, Action<byte[]> change)
    {
        byte[] copy = (byte[])message.Clone();
        change(copy);
        return copy;
    }

    private static byte[] Encode(IEnumerable<KeyValuePair<string, string>> properties, string raw)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in properties)
        {
            sb.Append(key).Append('=').Append(value).Append('\0');
        }

        return Encoding.UTF8.GetBytes(sb.Append(raw).ToString());
    }
}
