using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Core.Tests.Control;

public sealed class PeerCredentialsTests
{
    [Fact]
    public void ReadGroupsFromProc_PidWithReportedUid_ReturnsItsGroups()
    {
        string expected = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("Groups:", StringComparison.Ordinal))[7..].Trim();

        Assert.Equal(expected, string.Join(' ', PeerCredentials.ReadGroupsFromProc(Environment.ProcessId, 0)));
    }

    [Fact]
    public void ReadGroupsFromProc_PidNowOwnedByAnotherUid_ReturnsNoGroups()
    {
        // As if the peer exited and its pid now belongs to a process of another user.
        Assert.Empty(PeerCredentials.ReadGroupsFromProc(Environment.ProcessId, 65534));
    }

    [Fact]
    public void ReadGroupsFromProc_PidGone_ReturnsNoGroups()
    {
        Assert.Empty(PeerCredentials.ReadGroupsFromProc(int.MaxValue, 0));
    }
}
