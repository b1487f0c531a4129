using System.Text;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

public sealed class UeventParserTests
{
    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    private static RejectReason Reject(byte[] datagram, UeventSource source)
    {
        Assert.False(UeventParser.TryParse(datagram, source, 0, out Uevent? e, out RejectReason reason));
        Assert.Null(e);
        Assert.NotEqual(RejectReason.None, reason);
        return reason;
    }

    private static Uevent Accept(byte[] datagram, UeventSource source)
    {
        Assert.True(UeventParser.TryParse(datagram, source, 42, out Uevent? e, out RejectReason reason), reason.ToString());
        Assert.Equal(RejectReason.None, reason);
        return e!;
    }

    // A kernel message exactly as lib/kobject_uevent.c lays it out.
    private static readonly byte[] s_kernel = Bytes("add@/devices/virtual/block/loop3\0ACTION=add\0DEVPATH=/devices/virtual/block/loop3\0SUBSYSTEM=block\0SYNTH_UUID=0\0MAJOR=7\0MINOR=3\0DEVNAME=loop3\0DEVTYPE=disk\0DISKSEQ=12\0SEQNUM=4711\0");

    [Fact]
    public void TryParse_KernelMessage_SlicesEveryProperty()
    {
        Uevent e = Accept(s_kernel, UeventSource.Kernel);
        Assert.Equal(UeventSource.Kernel, e.Source);
        Assert.Equal(UeventAction.Add, e.Action);
        Assert.Equal("/devices/virtual/block/loop3", e.DevPath);
        Assert.Equal("block", e.Subsystem);
        Assert.Equal("disk", e.DevType);
        Assert.Equal(4711UL, e.SeqNum);
        Assert.Equal(42, e.ReceivedTimestamp);
        Assert.Equal(10, e.PropertyCount);
        Assert.Equal("loop3", e.KernelName);
        Assert.False(e.Coldplug);
    }

    [Fact]
    public void TryParse_UdevMessage_ByteExactHeader_Accepted()
    {
        byte[] props = Bytes("ACTION=add\0DEVPATH=/devices/usb2/2-1\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0ID_SERIAL_SHORT=576B63C4\0");
        var datagram = new List<byte>();
        datagram.AddRange(Bytes("libudev\0"));
        datagram.AddRange([0xfe, 0xed, 0xca, 0xfe]);            // magic, network order
        datagram.AddRange(BitConverter.GetBytes(40u));            // header_size, native
        datagram.AddRange(BitConverter.GetBytes(40u));            // properties_off
        datagram.AddRange(BitConverter.GetBytes((uint)props.Length));
        datagram.AddRange(new byte[16]);                          // filter hashes and bloom
        datagram.AddRange(props);

        Assert.Equal(datagram.ToArray(), UdevMessageWriter.WriteRaw(props));
        Uevent e = Accept([.. datagram], UeventSource.Udev);
        Assert.Equal("usb_device", e.DevType);
        Assert.Equal("576B63C4", e.GetString("ID_SERIAL_SHORT"));
    }

    [Fact]
    public void TryParse_UdevMessageWithLongerHeader_UsesPropertiesOffset()
    {
        // A newer udevd may append header fields: only properties_off says where properties start.
        byte[] props = Bytes("ACTION=remove\0DEVPATH=/devices/x\0SUBSYSTEM=usb\0");
        byte[] datagram = new byte[48 + props.Length];
        UdevMessageWriter.WriteRaw(props).AsSpan(0, 40).CopyTo(datagram);
        BitConverter.GetBytes(48u).CopyTo(datagram, 12);
        BitConverter.GetBytes(48u).CopyTo(datagram, 16);
        datagram[40] = 0xAA;
        props.CopyTo(datagram, 48);

        Uevent e = Accept(datagram, UeventSource.Udev);
        Assert.Equal(UeventAction.Remove, e.Action);
        Assert.Equal(3, e.PropertyCount);
    }

    [Fact]
    public void TryParse_EmptyValuesAndDuplicateKeys_KeptInOrder_LastWins()
    {
        Uevent e = Accept(UdevMessageWriter.Write("ACTION=change", "DEVPATH=/devices/x", "SUBSYSTEM=block", "ID_FS_LABEL=", "A=1", "A=2"), UeventSource.Udev);
        Assert.Equal(6, e.PropertyCount);
        Assert.Equal(string.Empty, e.GetString("ID_FS_LABEL"));
        Assert.Equal("2", e.GetString("A"));
        e.GetProperty(4, out _, out var first);
        Assert.Equal("1"u8.ToArray(), first.ToArray());
    }

    [Fact]
    public void TryParse_NonUtf8Value_BytesPreserved()
    {
        byte[] value = [0x4c, 0xff, 0xfe, 0x80, 0x41];
        byte[] props = [.. Bytes("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0ID_FS_LABEL="), .. value, 0];
        Uevent e = Accept(UdevMessageWriter.WriteRaw(props), UeventSource.Udev);
        Assert.True(e.TryGetValue("ID_FS_LABEL"u8, out var raw));
        Assert.Equal(value, raw.ToArray());
        Assert.Equal("L\uFFFD\uFFFD\uFFFDA", e.GetString("ID_FS_LABEL"));
    }

    [Fact]
    public void TryParse_64KiBMessage_Accepted()
    {
        string big = new('x', 64 * 1024);
        Uevent e = Accept(UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb", "BIG=" + big), UeventSource.Udev);
        Assert.Equal(big, e.GetString("BIG"));
    }

    [Fact]
    public void TryParse_ReplaySource_AcceptsEitherFormat()
    {
        Assert.Equal(UeventSource.Replay, Accept(s_kernel, UeventSource.Replay).Source);
        Accept(UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb", "PADDING=0123456789"), UeventSource.Replay);
    }

    [Fact]
    public void TryParse_Short_RejectsWithTooShort()
    {
        Assert.Equal(RejectReason.TooShort, Reject(Bytes("add@/d\0ACTION=add\0"), UeventSource.Kernel));
        Assert.Equal(RejectReason.TooShort, Reject([], UeventSource.Kernel));
        // Long enough in general, too short for the libudev header.
        Assert.Equal(RejectReason.TooShort, Reject(UdevMessageWriter.WriteRaw([])[..36].Concat(new byte[] { 0 }).ToArray(), UeventSource.Udev));
    }

    [Fact]
    public void TryParse_NoTrailingNul_RejectsWithNotNulTerminated()
    {
        Assert.Equal(RejectReason.NotNulTerminated, Reject(s_kernel[..^1], UeventSource.Kernel));
    }

    [Fact]
    public void TryParse_WrongFormatForSource_RejectsWithUnexpectedFormat()
    {
        byte[] udev = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb");
        Assert.Equal(RejectReason.UnexpectedFormat, Reject(udev, UeventSource.Kernel));
        Assert.Equal(RejectReason.UnexpectedFormat, Reject(s_kernel, UeventSource.Udev));
    }

    [Fact]
    public void TryParse_WrongMagic_RejectsWithBadMagic()
    {
        byte[] udev = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb");
        // Little-endian magic, as a sender that forgot htobe32 would write it.
        udev[8] = 0xfe; udev[9] = 0xca; udev[10] = 0xed; udev[11] = 0xfe;
        Assert.Equal(RejectReason.BadMagic, Reject(udev, UeventSource.Udev));
    }

    [Theory]
    [InlineData(0u, null)]           // offset inside the header
    [InlineData(39u, null)]
    [InlineData(1000u, null)]        // past the end
    [InlineData(40u, 0u)]            // empty properties
    [InlineData(40u, 1000u)]         // length past the end
    [InlineData(40u, 0xffffffffu)]   // overflowing length
    public void TryParse_PropertiesOutOfBounds_RejectsWithBadPropertiesBounds(uint offset, uint? length)
    {
        byte[] udev = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb");
        BitConverter.GetBytes(offset).CopyTo(udev, 16);
        if (length is { } l)
        {
            BitConverter.GetBytes(l).CopyTo(udev, 20);
        }

        Assert.Equal(RejectReason.BadPropertiesBounds, Reject(udev, UeventSource.Udev));
    }

    [Theory]
    [InlineData("add/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0")]   // no '@'
    [InlineData("add@devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0")]   // no "@/"
    [InlineData("@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0")]     // no action
    [InlineData("add@/devices/virtual/block/loop3/and/a/long/path\0")]                // nothing after the header
    public void TryParse_BadKernelHeader_RejectsWithBadKernelHeader(string datagram)
    {
        Assert.Equal(RejectReason.BadKernelHeader, Reject(Bytes(datagram), UeventSource.Kernel));
    }

    [Theory]
    [InlineData("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=usb\0NOEQUALS\0")]
    [InlineData("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=usb\0=value\0")]
    [InlineData("ACTION=add\0DEVPATH=/devices/x\0\0SUBSYSTEM=usb\0")]
    public void TryParse_BadProperty_RejectsWithMalformedProperty(string props)
    {
        Assert.Equal(RejectReason.MalformedProperty, Reject(UdevMessageWriter.WriteRaw(Bytes(props)), UeventSource.Udev));
    }

    [Fact]
    public void TryParse_PropertiesNotEndingInNul_RejectsWithMalformedProperty()
    {
        // properties_len stops one byte short of the final NUL, which the datagram itself still has.
        byte[] udev = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb");
        BitConverter.GetBytes((uint)(udev.Length - 41)).CopyTo(udev, 20);
        Assert.Equal(RejectReason.MalformedProperty, Reject(udev, UeventSource.Udev));
    }

    [Theory]
    [InlineData(RejectReason.MissingAction, "DEVPATH=/devices/x", "SUBSYSTEM=usb", "PADDING=0123456789")]
    [InlineData(RejectReason.MissingAction, "ACTION=", "DEVPATH=/devices/x", "SUBSYSTEM=usb")]
    [InlineData(RejectReason.MissingAction, "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb", "ACTION=")]
    [InlineData(RejectReason.MissingDevPath, "ACTION=add", "SUBSYSTEM=usb", "PADDING=0123456789")]
    [InlineData(RejectReason.MissingSubsystem, "ACTION=add", "DEVPATH=/devices/x", "PADDING=0123456789")]
    public void TryParse_MissingRequiredKey_RejectsWithThatKey(RejectReason expected, params string[] props)
    {
        Assert.Equal(expected, Reject(UdevMessageWriter.Write(props), UeventSource.Udev));
    }

    [Fact]
    public void RejectReasons_EveryValueHasATest()
    {
        // Parser reasons are covered above; Truncated and the trust reasons by NetlinkUeventSourceTests.
        Assert.Equal(15, Enum.GetValues<RejectReason>().Length);
    }
}
