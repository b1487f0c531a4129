using System.Text;
using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

public sealed class MountInfoTests
{
    [Fact]
    public void TryParseLine_WithOptionalFields_ReadsAllColumns()
    {
        var line = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue"u8;

        Assert.True(MountInfo.TryParseLine(line, out var entry, out var reason), reason);

        Assert.Equal(36, entry.MountId);
        Assert.Equal(35, entry.ParentId);
        Assert.Equal(98u, entry.Major);
        Assert.Equal(0u, entry.Minor);
        Assert.Equal("/mnt1", entry.Root);
        Assert.Equal("/mnt2", entry.MountPoint);
        Assert.Equal("rw,noatime", entry.MountOptions);
        Assert.Equal("ext3", entry.FsType);
        Assert.Equal("/dev/root", entry.Source);
        Assert.True(entry.HasSuperOption("errors=continue"));
        Assert.False(entry.HasMountOption("noat"));
    }

    [Fact]
    public void TryParseLine_OctalEscapes_Decoded()
    {
        var line = Encoding.UTF8.GetBytes(@"100 1 7:3 / /media/kua/My\040Stick\012x\134y\011z rw,nosuid - ext4 /dev/loop3 rw");

        Assert.True(MountInfo.TryParseLine(line, out var entry, out _));

        Assert.Equal("/media/kua/My Stick\nx\\y\tz", entry.MountPoint);
    }

    [Fact]
    public void TryParseLine_Utf8Name_Decoded()
    {
        var line = Encoding.UTF8.GetBytes("100 1 7:3 / /media/kua/Ünï☃ rw - ext4 /dev/loop3 rw");

        Assert.True(MountInfo.TryParseLine(line, out var entry, out _));

        Assert.Equal("/media/kua/Ünï☃", entry.MountPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("36 35 98:0 /mnt1 /mnt2 rw ext3 /dev/root rw")]
    [InlineData("x 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw")]
    [InlineData("36 35 98 /mnt1 /mnt2 rw - ext3 /dev/root rw")]
    [InlineData("36 35 98:0 /mnt1 /mnt2 rw -")]
    public void TryParseLine_Malformed_Rejected(string line)
    {
        Assert.False(MountInfo.TryParseLine(Encoding.UTF8.GetBytes(line), out _, out var reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void Read_LiveTable_HasRoot()
    {
        var table = MountInfo.Read();

        Assert.NotNull(MountInfo.FindByMountPoint(table, "/"));
        Assert.NotNull(MountInfo.FindByMountPoint(table, "/proc"));
    }

    [Fact]
    public void FindUnderBase_OnlyDirectChildrenOfTheBase()
    {
        var table = MountInfo.Parse(Encoding.UTF8.GetBytes(
            "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n" +
            "2 1 7:3 / /media/kua/A rw - ext4 /dev/loop3 rw\n" +
            "3 1 7:4 / /media/kua/A/nested rw - ext4 /dev/loop4 rw\n" +
            "4 1 7:5 / /media/kuaX/B rw - ext4 /dev/loop5 rw\n" +
            "5 1 0:50 / /media/kua/C rw - fuseblk /dev/loop6 rw\n"));

        Assert.Equal(["/media/kua/A", "/media/kua/C"], MountInfo.FindUnderBase(table, "/media/kua").Select(e => e.MountPoint));
        Assert.Equal(["/media/kua/A"], MountInfo.FindUnderBase(table, "/media/kua", null, 7, 3).Select(e => e.MountPoint));
        Assert.Equal(["/media/kua/C"], MountInfo.FindUnderBase(table, "/media/kua", "/dev/loop6", 7, 6).Select(e => e.MountPoint));
    }
}
