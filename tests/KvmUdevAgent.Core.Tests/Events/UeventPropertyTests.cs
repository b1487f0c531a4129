using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

/// <summary>
/// An event answers a lookup exactly as a plain scan of its properties from the end would (udev's rule:
/// the last occurrence wins), whatever the properties: the known keys (found through the slots the
/// parser records, issue 15), near misses of them, other keys, non-ASCII keys, duplicates, empty values,
/// invalid UTF-8, and more properties than a slot can point at; built by the parser (both wire
/// formats), by <see cref="Uevent.Create"/> and by <see cref="UeventBuilder"/>.
/// </summary>
public sealed class UeventPropertyTests
{
    private static readonly string[] s_known = [.. Enumerable.Range(0, UeventKnownKeys.Count).Select(UeventKnownKeys.Name)];

    private static readonly byte[] s_kernelHeader = "add@/devices/virtual/block/loop0"u8.ToArray();

    private static readonly Gen<byte[]> s_key = Gen.Frequency(
        (6, Gen.OneOf(s_known).Select(Encoding.ASCII.GetBytes)),
        (3, Gen.Select(Gen.OneOf(s_known), Gen.Int[0, 63], Gen.Int[0, 3]).Select(NearMiss)),
        (2, Gen.Char["ABDEIMNOSTUV_"].Array[1, 20].Select(c => Encoding.ASCII.GetBytes(c))),
        (1, Gen.Byte.Where(b => b is not (0 or (byte)'=')).Array[1, 20]));

    private static readonly Gen<byte[]> s_value = Gen.Frequency(
        (1, Gen.Const(Array.Empty<byte>())),
        (3, Gen.OneOf("add", "usb", "/devices/pci0000:00/usb1/1-1", "usb_device", "42", "005", "058f", "+1", "99999999999").Select(Encoding.ASCII.GetBytes)),
        (2, Gen.Byte[1, 255].Array[0, 12]));

    private static readonly Gen<List<(byte[] Key, byte[] Value)>> s_properties =
        Gen.Select(
            Gen.Frequency((9, Gen.Select(s_key, s_value).List[1, 40]), (1, Gen.Select(s_key, s_value).List[240, 300])),
            Gen.Bool,
            Gen.Int[0, 1000].Array[3])
        .Select((properties, withRequired, at) =>
        {
            // Most events get the keys the parser insists on (which later duplicates may still empty).
            if (withRequired)
            {
                properties.Insert(at[0] % (properties.Count + 1), ("ACTION"u8.ToArray(), "add"u8.ToArray()));
                properties.Insert(at[1] % (properties.Count + 1), ("DEVPATH"u8.ToArray(), "/devices/x"u8.ToArray()));
                properties.Insert(at[2] % (properties.Count + 1), ("SUBSYSTEM"u8.ToArray(), "usb"u8.ToArray()));
            }

            return properties;
        });

    [Fact]
    public void TryParse_AnyProperties_AnswersAsAScanInBothFormats()
    {
        s_properties.Sample(properties =>
        {
            byte[] nulstr = Nulstr(properties);
            RejectReason expected = Expected(properties);
            foreach (byte[] datagram in new[] { KernelMessageWriter.WriteRaw(s_kernelHeader, nulstr), UdevMessageWriter.WriteRaw(nulstr) })
            {
                bool ok = UeventParser.TryParse(datagram, UeventSource.Replay, 0, out Uevent? e, out RejectReason reason);

                Assert.Equal(expected, reason);
                Assert.Equal(expected == RejectReason.None, ok);
                if (ok)
                {
                    AssertAnswersAsScan(properties, e!);
                }
            }
        }, iter: 3_000);
    }

    [Fact]
    public void Build_AnyProperties_AnswersAsAScan()
    {
        s_properties.Sample(properties =>
        {
            var builder = new UeventBuilder();
            foreach (var (key, value) in properties)
            {
                Assert.True(builder.TryAdd(key, value));
            }

            AssertAnswersAsScan(properties, builder.Build(UeventSource.Replay, coldplug: false, 0));
        }, iter: 3_000);
    }

    [Fact]
    public void Create_AnyProperties_AnswersAsAScan()
    {
        // Create takes text: the keys and values are what UTF-8 makes of the bytes (invalid bytes become U+FFFD).
        s_properties.Sample(properties =>
        {
            var text = properties.ConvertAll(p => (Key: Encoding.UTF8.GetString(p.Key), Value: Encoding.UTF8.GetString(p.Value)));
            var e = Uevent.Create(UeventSource.Sysfs, text.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));

            AssertAnswersAsScan(text.ConvertAll(p => (Encoding.UTF8.GetBytes(p.Key), Encoding.UTF8.GetBytes(p.Value))), e);
        }, iter: 3_000);
    }

    [Fact]
    public void GetString_KnownKeyAfterProperty254_FoundByScan()
    {
        // 300 properties: the slot of a key whose last occurrence is past what a byte holds says "look".
        var properties = new List<(byte[] Key, byte[] Value)> { ("ACTION"u8.ToArray(), "add"u8.ToArray()), ("DEVPATH"u8.ToArray(), "/devices/x"u8.ToArray()), ("SUBSYSTEM"u8.ToArray(), "usb"u8.ToArray()) };
        for (int i = properties.Count; i < 300; i++)
        {
            properties.Add(i switch
            {
                10 or 253 or 254 => ("DRIVER"u8.ToArray(), Encoding.ASCII.GetBytes("d" + i)),
                20 or 299 => ("ID_VENDOR_ID"u8.ToArray(), Encoding.ASCII.GetBytes("v" + i)),
                30 => ("DEVNUM"u8.ToArray(), "007"u8.ToArray()),
                _ => (Encoding.ASCII.GetBytes("FILL" + i), "x"u8.ToArray()),
            });
        }

        Assert.True(UeventParser.TryParse(UdevMessageWriter.WriteRaw(Nulstr(properties)), UeventSource.Udev, 0, out Uevent? e, out _));

        Assert.Equal("d254", e.GetString(UeventKeys.Driver));
        Assert.Equal("v299", e.GetString(UeventKeys.IdVendorId));
        Assert.Equal("007", e.GetString(UeventKeys.DevNum));
        Assert.Null(e.GetString(UeventKeys.DevName));
        AssertAnswersAsScan(properties, e);
    }

    private static byte[] NearMiss(string known, int position, int kind)
    {
        byte[] key = Encoding.ASCII.GetBytes(known);
        int at = position % key.Length;
        switch (kind)
        {
            case 0:
                key[at] ^= 0x20; // the case of one letter, or '_' ↔ DEL
                return key;
            case 1:
                return key[..Math.Max(1, at)];
            case 2:
                return [.. key, (byte)'X'];
            default:
                key[at] = 0xc3; // a non-ASCII byte where an ASCII one was
                return key;
        }
    }

    private static byte[] Nulstr(List<(byte[] Key, byte[] Value)> properties)
    {
        var bytes = new List<byte>();
        foreach (var (key, value) in properties)
        {
            bytes.AddRange(key);
            bytes.Add((byte)'=');
            bytes.AddRange(value);
            bytes.Add(0);
        }

        return [.. bytes];
    }

    private static RejectReason Expected(List<(byte[] Key, byte[] Value)> properties) =>
        Scan(properties, "ACTION"u8) is not { Length: > 0 } ? RejectReason.MissingAction
        : Scan(properties, "DEVPATH"u8) is not { Length: > 0 } ? RejectReason.MissingDevPath
        : Scan(properties, "SUBSYSTEM"u8) is not { Length: > 0 } ? RejectReason.MissingSubsystem
        : RejectReason.None;

    /// <summary>The plain scan: the value of the last property whose key is exactly <paramref name="key"/>.</summary>
    private static byte[]? Scan(List<(byte[] Key, byte[] Value)> properties, ReadOnlySpan<byte> key)
    {
        for (int i = properties.Count - 1; i >= 0; i--)
        {
            if (properties[i].Key.AsSpan().SequenceEqual(key))
            {
                return properties[i].Value;
            }
        }

        return null;
    }

    private static string? Text(byte[]? value) => value is null ? null : Encoding.UTF8.GetString(value);

    private static void AssertAnswersAsScan(List<(byte[] Key, byte[] Value)> properties, Uevent e)
    {
        Assert.Equal(properties.Count, e.PropertyCount);
        for (int i = 0; i < properties.Count; i++)
        {
            e.GetProperty(i, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value);
            Assert.Equal(properties[i].Key, key.ToArray());
            Assert.Equal(properties[i].Value, value.ToArray());
        }

        foreach (byte[] key in properties.Select(p => p.Key).Concat(s_known.Select(Encoding.ASCII.GetBytes)))
        {
            byte[]? expected = Scan(properties, key);
            Assert.Equal(expected is not null, e.TryGetValue(key, out ReadOnlySpan<byte> actual));
            Assert.Equal(expected ?? [], actual.ToArray());

            // The text form of a key that is not UTF-8 is another key (its bytes encode U+FFFD).
            string text = Encoding.UTF8.GetString(key);
            string? expectedText = Text(Scan(properties, Encoding.UTF8.GetBytes(text)));
            Assert.Equal(expectedText, e.GetString(text));
            Assert.Equal(int.TryParse(expectedText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number) ? number : null, e.GetDecimal(text));
        }

        Assert.Equal(Text(Scan(properties, "ACTION"u8)) ?? string.Empty, e.ActionText);
        Assert.Equal(Text(Scan(properties, "DEVPATH"u8)) ?? string.Empty, e.DevPath);
        Assert.Equal(Text(Scan(properties, "SUBSYSTEM"u8)) ?? string.Empty, e.Subsystem);
        Assert.Equal(Text(Scan(properties, "DEVTYPE"u8)), e.DevType);
        byte[] seq = Scan(properties, "SEQNUM"u8) ?? [];
        Assert.Equal(System.Buffers.Text.Utf8Parser.TryParse(seq, out ulong n, out int used) && used == seq.Length ? n : 0, e.SeqNum);

        // By id (the device view's way, issue 15): the answers by name.
        for (int id = 0; id < UeventKnownKeys.Count; id++)
        {
            byte[]? expected = Scan(properties, UeventKnownKeys.Bytes(id));
            Assert.Equal(expected is not null, e.TryGetKnown(id, out ReadOnlySpan<byte> actual));
            Assert.Equal(expected ?? [], actual.ToArray());
            Assert.Equal(e.GetString(UeventKnownKeys.Name(id)), e.GetKnownString(id));
            Assert.Equal(e.GetDecimal(UeventKnownKeys.Name(id)), e.GetKnownDecimal(id));
        }

        string devPath = e.DevPath;
        Assert.Equal(devPath.Contains('/') ? devPath[(devPath.LastIndexOf('/') + 1)..] : devPath, e.KernelName);
    }
}
