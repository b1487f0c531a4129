using System.Text;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class HmpOutputTests
{
    // Captured from QEMU 7.2 on a unix-socket monitor: the readline echo redraws the line after each character.
    private const string DeviceDelNotFound =
        "d\u001b[K\u001b[Dde\u001b[K\u001b[D\u001b[Ddev\u001b[K\u001b[D\u001b[D\u001b[Ddevice_del kua-y\u001b[K\r\nError: Device 'kua-y' not found\r\n(qemu) ";

    [Fact]
    public void Parse_EchoThenError_ReturnsOnlyTheErrorLine()
    {
        IReadOnlyList<string> lines = HmpOutput.Parse(Encoding.ASCII.GetBytes(DeviceDelNotFound));
        Assert.Equal(["Error: Device 'kua-y' not found"], lines);
    }

    [Fact]
    public void Parse_EchoOnly_ReturnsNoLines()
    {
        IReadOnlyList<string> lines = HmpOutput.Parse(Encoding.ASCII.GetBytes("device_del kua-x\u001b[K\r\n(qemu) "));
        Assert.Empty(lines);
    }

    [Fact]
    public void Parse_MultiLineOutput_KeepsEveryLine()
    {
        IReadOnlyList<string> lines = HmpOutput.Parse(Encoding.ASCII.GetBytes("qom-list /machine/peripheral\u001b[K\r\ntype (string)\r\nkua-x (child<usb-host>)\r\n(qemu) "));
        Assert.Equal(["type (string)", "kua-x (child<usb-host>)"], lines);
    }

    [Fact]
    public void ParseBanner_Qemu72_ReadsVersion()
    {
        QemuVersion version = HmpConnection.ParseBanner("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) "u8);
        Assert.Equal(new QemuVersion(7, 2, 22, null), version);
    }
}
