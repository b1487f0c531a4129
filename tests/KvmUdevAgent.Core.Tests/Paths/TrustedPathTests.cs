using KvmUdevAgent.Core.Paths;
using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Core.Tests.Paths;

public sealed class TrustedPathTests : IDisposable
{
    // Under /tmp (sticky, root's): the test directory itself is root's, so the walk may pass it.
    private readonly string _root = Directory.CreateTempSubdirectory("kua-trusted-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void TryOpenDirectory_RootOwnedPathThroughStickyTmp_Opens()
    {
        string target = Path.Combine(_root, "a", "b");
        Directory.CreateDirectory(target);

        Assert.True(TrustedPath.TryOpenDirectory(target, "test dir", 0, null, out int fd, out _, out string reason), reason);
        Assert.True(fd >= 0);
        _ = Tmds.Linux.LibC.close(fd);
    }

    [Fact]
    public void TryOpenDirectory_ParentWritableByOthers_RefusedNamingIt()
    {
        string parent = Path.Combine(_root, "attic");
        string target = Path.Combine(parent, "media");
        Directory.CreateDirectory(target);
        File.SetUnixFileMode(parent, (UnixFileMode)0b111_111_111);

        Assert.False(TrustedPath.TryOpenDirectory(target, "mount base", 0, null, out _, out bool missing, out string reason));
        Assert.False(missing);
        Assert.Equal($"'{parent}', a parent of mount base '{target}', is writable by others (mode 777); only root may write the directories above it (chmod go-w '{parent}')", reason);
    }

    [Fact]
    public void TryOpenDirectory_SymlinkOnTheWay_Refused()
    {
        string real = Path.Combine(_root, "real");
        Directory.CreateDirectory(Path.Combine(real, "x"));
        string link = Path.Combine(_root, "link");
        File.CreateSymbolicLink(link, real);

        Assert.False(TrustedPath.TryOpenDirectory(Path.Combine(link, "x"), "rules directory", 0, null, out _, out _, out string reason));
        Assert.Equal($"rules directory '{link}/x' goes through the symlink '{link}'; configure the real path", reason);
    }

    [Fact]
    public async Task TryOpenDirectory_ParentOwnedByAnotherUser_Refused()
    {
        string parent = Path.Combine(_root, "theirs");
        string target = Path.Combine(parent, "rules.d");
        Directory.CreateDirectory(target);
        await TestProcess.RunAsync("chown", "coreutils", "65534:65534", "--", parent);

        Assert.False(TrustedPath.TryOpenDirectory(target, "rules directory", 0, null, out _, out _, out string reason));
        Assert.StartsWith($"'{parent}', a parent of rules directory '{target}', is owned by uid 65534", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryOpenDirectory_Missing_CreatedWithMode()
    {
        string target = Path.Combine(_root, "new", "base");

        Assert.False(TrustedPath.TryOpenDirectory(target, "mount base", 0, null, out _, out bool missing, out _));
        Assert.True(missing);
        Assert.True(TrustedPath.TryOpenDirectory(target, "mount base", 0, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, out int fd, out _, out string reason), reason);
        _ = Tmds.Linux.LibC.close(fd);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(target));
    }
}
