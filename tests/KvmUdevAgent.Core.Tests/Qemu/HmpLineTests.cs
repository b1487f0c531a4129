using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class HmpLineTests
{
    [Fact]
    public void ToString_DeviceAdd_BuildsCommaSeparatedOptions()
    {
        HmpLine line = new HmpLine("device_add").OptionWord("usb-host")
            .Option("id", QemuValue.Of("kua-u1-1.4-058f6387"))
            .Option("hostbus", QemuValue.Of(1))
            .Option("hostport", QemuValue.Of("1.4"));
        Assert.Equal("device_add usb-host,id=kua-u1-1.4-058f6387,hostbus=1,hostport=1.4", line.ToString());
        Assert.Equal("device_add usb-host,id=kua-u1-1.4-058f6387,hostbus=1,hostport=1.4\n"u8.ToArray(), line.ToBytes());
    }

    [Theory]
    [InlineData("576B63C4\ndevice_del vm0")]
    [InlineData("a,drive=other")]
    [InlineData("a b")]
    [InlineData("\"quoted\"")]
    [InlineData("x;quit")]
    [InlineData("-n")]
    [InlineData("")]
    [InlineData("serial\r")]
    [InlineData("nbd:evil")]
    public void Option_HostileValue_Throws(string value)
    {
        Assert.Throws<ArgumentException>(() => new HmpLine("device_add").OptionWord("usb-storage").Option("serial", QemuValue.Of(value)));
        Assert.Throws<ArgumentException>(() => new HmpLine("drive_del").Word(value));
    }
}
