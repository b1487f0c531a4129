using System.Text;
using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

public sealed class MountPointNameTests
{
    [Theory]
    [InlineData("FLASH", "FLASH")]
    [InlineData("My Stick", "My Stick")]
    [InlineData("  padded  ", "padded")]
    [InlineData("a/b", "a_b")]
    [InlineData("..", "_.")]
    [InlineData(".", "_")]
    [InlineData(".hidden", "_hidden")]
    [InlineData("../../etc", "_._.._etc")]
    [InlineData("-rf", "_rf")]
    [InlineData("a\\b", "a_b")]
    [InlineData("it's \"q\" `x`", "it_s _q_ _x_")]
    [InlineData("line\nbreak\ttab\u007f", "line_break_tab_")]
    [InlineData("rtl\u202Eevil", "rtl_evil")]
    [InlineData("Ünïcødé ☃", "Ünïcødé ☃")]
    [InlineData("1.2", "1.2")]
    public void Sanitize_HostileLabels_BecomeOneSafeComponent(string label, string expected)
    {
        Assert.Equal(expected, MountPointName.Sanitize(label, "sdb1"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Sanitize_Empty_FallsBackToKernelName(string? label)
    {
        Assert.Equal("sdb1", MountPointName.Sanitize(label, "sdb1"));
        Assert.Equal("disk", MountPointName.Sanitize(label, ""));
    }

    [Fact]
    public void Sanitize_LoneSurrogate_Replaced()
    {
        Assert.Equal("a_b", MountPointName.Sanitize("a\uD800b", "x"));
    }

    [Fact]
    public void Sanitize_Long_CutOnCharacterBoundaryWithinByteLimit()
    {
        var name = MountPointName.Sanitize(string.Concat(Enumerable.Repeat("☃", 100)), "x");

        Assert.True(Encoding.UTF8.GetByteCount(name) <= MountPointName.MaxBytes);
        Assert.Equal(MountPointName.MaxBytes / 3, name.Length);
        Assert.DoesNotContain('\uFFFD', name);
    }

    [Fact]
    public void WithSuffix_CountsFromTwo()
    {
        Assert.Equal("FLASH", MountPointName.WithSuffix("FLASH", 1));
        Assert.Equal("FLASH-2", MountPointName.WithSuffix("FLASH", 2));
    }
}
