using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Tests.Devices;

public sealed class DeviceNodeTests
{
    [Theory]
    [InlineData("sdb1", "/dev/sdb1")]
    [InlineData("/dev/sdb1", "/dev/sdb1")]
    [InlineData("bus/usb/002/005", "/dev/bus/usb/002/005")]
    [InlineData("/dev/mapper/vg-root_1+x:y.z", "/dev/mapper/vg-root_1+x:y.z")]
    public void TryNormalize_SimpleNames_Accepts(string devName, string expected)
    {
        Assert.True(DeviceNode.TryNormalize(devName, out string? node, out _));
        Assert.Equal(expected, node);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/dev/")]
    [InlineData("/etc/passwd")]
    [InlineData("../etc/shadow")]
    [InlineData("/dev/../etc/shadow")]
    [InlineData("/dev/./sda")]
    [InlineData("/dev//sda")]
    [InlineData("sd b")]
    [InlineData("sdb\n")]
    [InlineData("sdb;reboot")]
    [InlineData("sdb$(id)")]
    public void TryNormalize_Hostile_Rejects(string? devName)
    {
        Assert.False(DeviceNode.TryNormalize(devName, out string? node, out string? reason));
        Assert.Null(node);
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void IsBlockDevice_RegularFileAndMissing_False()
    {
        Assert.False(DeviceNode.IsBlockDevice("/etc/hostname"));
        Assert.False(DeviceNode.IsBlockDevice("/dev/kua-does-not-exist"));
        Assert.False(DeviceNode.IsBlockDevice("/dev/null"));
    }
}
