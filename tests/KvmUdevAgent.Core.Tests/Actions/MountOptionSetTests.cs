using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

public sealed class MountOptionSetTests
{
    [Fact]
    public void TryBuild_Vfat_ForcedThenDefaultsThenRuleOptions()
    {
        Assert.True(MountOptionSet.TryBuild(Request("vfat", ["utf8=0", "noatime"]), out var options, out var reason), reason);

        Assert.Equal(["rw", "nosuid", "nodev", "noexec", "shortname=mixed", "showexec", "flush", "utf8=0", "noatime"], options.ToArray());
    }

    [Fact]
    public void TryBuild_ReadOnlyAndUnknownType_NoDefaults()
    {
        Assert.True(MountOptionSet.TryBuild(Request(null, []) with { ReadOnly = true }, out var options, out _));

        Assert.Equal(["ro", "nosuid", "nodev", "noexec"], options.ToArray());
    }

    [Fact]
    public void TryBuild_RoOption_SameAsReadOnly()
    {
        Assert.True(MountOptionSet.TryBuild(Request("ext4", ["ro"]), out var options, out _));

        Assert.Equal(["ro", "nosuid", "nodev", "noexec", "errors=remount-ro"], options.ToArray());
    }

    [Fact]
    public void TryBuild_AllowAll_NothingForcedAndExplicitExecAccepted()
    {
        var request = Request("ext4", ["exec", "suid", "dev"]) with { Allow = MountAllow.Exec | MountAllow.Suid | MountAllow.Dev };

        Assert.True(MountOptionSet.TryBuild(request, out var options, out _));

        Assert.Equal(["rw", "errors=remount-ro", "exec", "suid", "dev"], options.ToArray());
    }

    [Theory]
    [InlineData("suid", "mount option 'suid' needs 'allow: [suid]' in the rule")]
    [InlineData("exec", "mount option 'exec' needs 'allow: [exec]' in the rule")]
    [InlineData("dev", "mount option 'dev' needs 'allow: [dev]' in the rule")]
    [InlineData("defaults", "mount option 'defaults' is not allowed (it changes what mount does, not how the filesystem is mounted)")]
    [InlineData("X-mount.mkdir", "mount option 'X-mount.mkdir' is not allowed (it changes what mount does, not how the filesystem is mounted)")]
    [InlineData("uhelper=udisks2", "mount option 'uhelper=udisks2' is not allowed (it changes what mount does, not how the filesystem is mounted)")]
    [InlineData("bind", "mount option 'bind' is not allowed (it changes what mount does, not how the filesystem is mounted)")]
    [InlineData("ro,suid", "mount option 'ro,suid' has a character outside [A-Za-z0-9_.:+=-]")]
    [InlineData("context=\"x\"", "mount option 'context=\"x\"' has a character outside [A-Za-z0-9_.:+=-]")]
    [InlineData("a b", "mount option 'a b' has a character outside [A-Za-z0-9_.:+=-]")]
    [InlineData("x\ny", "mount option 'x?y' has a character outside [A-Za-z0-9_.:+=-]")]
    [InlineData("-o", "mount option '-o' must start with a letter or digit")]
    [InlineData("", "empty mount option")]
    public void TryBuild_BadOption_RefusedWithReason(string option, string expected)
    {
        Assert.False(MountOptionSet.TryBuild(Request("ext4", [option]), out _, out var reason));
        Assert.Equal(expected, reason);
    }

    [Fact]
    public void TryBuild_RwWithReadOnly_Refused()
    {
        Assert.False(MountOptionSet.TryBuild(Request("ext4", ["rw"]) with { ReadOnly = true }, out _, out var reason));
        Assert.Equal("option 'rw' contradicts read-only", reason);
    }

    private static MountRequest Request(string? fsType, string[] options) =>
        new() { DevNode = "/dev/sdb1", Name = "X", KernelName = "sdb1", FsType = fsType, Options = [.. options] };
}
