using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

/// <summary>
/// <see cref="UeventValueCache"/> shares the text of repeated values; what a value decodes to must
/// never depend on what was decoded before it (hostile values, invalid UTF-8, colliding slots).
/// </summary>
public sealed class UeventValueCacheTests
{
    private static readonly byte[] s_bytes = [(byte)'A', (byte)'b', 0xc3, 0xa9, 0xff];

    [Fact]
    public void GetString_AnyBytesInAnyOrder_AlwaysTheirOwnUtf8Decoding()
    {
        // Few distinct short values (so they repeat and meet in the slots: valid and invalid UTF-8,
        // one a prefix of another), plus long ones that are never held.
        Gen.OneOf(
                Gen.Int[0, s_bytes.Length - 1].Select(i => s_bytes[i]).Array[0, 5],
                Gen.Byte.Array[0, UeventValueCache.MaxLength + 40]).Array[1, 400].Sample(values =>
        {
            foreach (byte[] value in values)
            {
                Assert.Equal(Encoding.UTF8.GetString(value), UeventValueCache.GetString(value));
            }
        }, iter: 300);
    }

    [Fact]
    public void GetString_SameBytesAgain_SameTextInstance()
    {
        byte[] devPath = "/devices/pci0000:00/0000:00:14.0/usb2/2-1"u8.ToArray();

        string first = UeventValueCache.GetString(devPath);

        Assert.Same(first, UeventValueCache.GetString(devPath.ToArray()));
    }

    [Fact]
    public void GetString_InvalidUtf8ThenValidPrefix_EachDecodedOnItsOwn()
    {
        byte[] invalid = [(byte)'S', 0xff, 0xfe, (byte)'1'];
        byte[] valid = "S1"u8.ToArray();

        Assert.Equal("S\uFFFD\uFFFD1", UeventValueCache.GetString(invalid));
        Assert.Equal("S1", UeventValueCache.GetString(valid));
        Assert.Equal("S\uFFFD\uFFFD1", UeventValueCache.GetString(invalid));
    }

    [Fact]
    public void Uevent_ParsedTwice_SharesRepeatedValuesAndKeepsEachEventsOwn()
    {
        byte[] a = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/pci0000:00/usb2/2-1", "SUBSYSTEM=usb", "DEVTYPE=usb_device", "ID_SERIAL_SHORT=A\u00e9", "SEQNUM=9");
        byte[] b = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/pci0000:00/usb2/2-2", "SUBSYSTEM=usb", "DEVTYPE=usb_device", "ID_SERIAL_SHORT=B", "SEQNUM=10");

        Assert.True(UeventParser.TryParse(a, UeventSource.Udev, 0, out Uevent? first, out _));
        Assert.True(UeventParser.TryParse(b, UeventSource.Udev, 0, out Uevent? second, out _));

        Assert.Same(first.Subsystem, second.Subsystem);
        Assert.Same(first.DevType, second.DevType);
        Assert.Equal("/devices/pci0000:00/usb2/2-1", first.DevPath);
        Assert.Equal("/devices/pci0000:00/usb2/2-2", second.DevPath);
        Assert.Equal("A\u00e9", first.GetString(UeventKeys.IdSerialShort));
        Assert.Equal("B", second.GetString(UeventKeys.IdSerialShort));
    }
}
