using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class GuestSerialTests
{
    [Theory]
    [InlineData("576B63C4")]
    [InlineData("a.b_c-9")]
    [InlineData("123456789012345678901234567890123456")]
    public void Choose_StrictSerialOverHmp_IsSent(string serial)
    {
        GuestSerial chosen = GuestSerial.Choose(serial, BlockDeviceModel.UsbStorage, MonitorProtocol.Hmp);
        Assert.Equal(serial, chosen.Sent);
        Assert.Null(chosen.OmittedReason);
    }

    [Theory]
    [InlineData("576B 63C4")]
    [InlineData("a,b")]
    [InlineData("a\"b")]
    [InlineData("a\nb")]
    [InlineData("-rf")]
    [InlineData("x/y")]
    [InlineData("é")]
    [InlineData("1234567890123456789012345678901234567")]
    public void Choose_UnsafeSerialOverHmp_LeftOutWithReason(string serial)
    {
        GuestSerial chosen = GuestSerial.Choose(serial, BlockDeviceModel.UsbStorage, MonitorProtocol.Hmp);
        Assert.Null(chosen.Sent);
        Assert.NotNull(chosen.OmittedReason);
    }

    [Fact]
    public void Choose_VirtioBlkOverHmp_LimitIs20()
    {
        Assert.Equal("12345678901234567890", GuestSerial.Choose("12345678901234567890", BlockDeviceModel.VirtioBlk, MonitorProtocol.Hmp).Sent);
        Assert.Null(GuestSerial.Choose("123456789012345678901", BlockDeviceModel.VirtioBlk, MonitorProtocol.Hmp).Sent);
    }

    [Fact]
    public void Choose_HostileSerialOverQmp_SentAsIs()
    {
        string hostile = "a,b\"c\n" + new string('x', 300);
        Assert.Equal(hostile, GuestSerial.Choose(hostile, BlockDeviceModel.UsbStorage, MonitorProtocol.Qmp).Sent);
    }

    [Theory]
    [InlineData("a\uFFFEb")]
    [InlineData("\uFFFF")]
    [InlineData("x\uFDD0")]
    [InlineData("x\uFDEF")]
    [InlineData("\uD83F\uDFFE")] // U+1FFFE
    [InlineData("\uDBFF\uDFFF")] // U+10FFFF
    public void Choose_NoncharacterOverQmp_LeftOutWithReason(string serial)
    {
        GuestSerial chosen = GuestSerial.Choose(serial, BlockDeviceModel.UsbStorage, MonitorProtocol.Qmp);
        Assert.Null(chosen.Sent);
        Assert.Contains("noncharacter", chosen.OmittedReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\uFDCF\uFDF0\uFFFD\uFFFC")]
    [InlineData("\uD83D\uDE00")] // U+1F600
    [InlineData("\uD83F\uDFFD")] // U+1FFFD
    [InlineData("\uD83E\uDFFF")] // U+1FBFF
    [InlineData("\uDBFE\uDFFF\uDFFE")] // U+10FBFF, then a lone low surrogate
    public void Choose_NeighboursOfNoncharactersOverQmp_Sent(string serial) =>
        Assert.Equal(serial, GuestSerial.Choose(serial, BlockDeviceModel.UsbStorage, MonitorProtocol.Qmp).Sent);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Choose_NoSerial_NothingSentNoReason(string? serial)
    {
        GuestSerial chosen = GuestSerial.Choose(serial, BlockDeviceModel.UsbStorage, MonitorProtocol.Hmp);
        Assert.Null(chosen.Sent);
        Assert.Null(chosen.OmittedReason);
    }
}
