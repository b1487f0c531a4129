using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Core.Tests.Control;

public sealed class ControlGroupTests
{
    [Theory]
    [InlineData("root", 0u)]
    [InlineData("64999", 64999u)]
    public void TryResolve_KnownGroupOrNumber_ReturnsGid(string name, uint expected)
    {
        Assert.True(ControlGroup.TryResolve(name, out uint gid, out string? reason), reason);
        Assert.Equal(expected, gid);
    }

    [Fact]
    public void TryResolve_UnknownGroup_RejectsWithReason()
    {
        Assert.False(ControlGroup.TryResolve("kua-no-such-group", out _, out string? reason));
        Assert.Equal("there is no group 'kua-no-such-group'", reason);
    }
}
