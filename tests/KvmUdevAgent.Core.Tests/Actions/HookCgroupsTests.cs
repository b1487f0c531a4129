using System.Diagnostics;
using System.Globalization;
using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

/// <summary>Real cgroup v2 directories beside the test process's own, and real processes in them.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HookCgroupsTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task TryCreate_CgroupOfAnAgentThatNoLongerRuns_KillsWhatRanThereAndRemovesIt()
    {
        HookCgroups first = HookCgroups.TryCreate(out string reason) ?? throw new InvalidOperationException("no cgroup v2 for hooks on this machine: " + reason);
        int deadAgent = DeadPid();
        string stale = Path.Combine(first.Directory, "kua-hook." + deadAgent.ToString(CultureInfo.InvariantCulture) + ".1");
        string live = Path.Combine(first.Directory, "kua-hook.1.1"); // pid 1 always runs: another agent's, left alone
        Directory.CreateDirectory(stale);
        Directory.CreateDirectory(live);
        using Process orphan = Process.Start(new ProcessStartInfo("sleep", "301") { UseShellExecute = false })!;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(stale, "cgroup.procs"), orphan.Id.ToString(CultureInfo.InvariantCulture));

            HookCgroups second = HookCgroups.TryCreate(out reason) ?? throw new InvalidOperationException(reason);

            await orphan.WaitForExitAsync().WaitAsync(s_wait);
            Assert.False(Directory.Exists(stale), "the dead agent's hook cgroup is still there");
            Assert.True(Directory.Exists(live), "a cgroup whose agent still runs was removed");
            Assert.Contains(stale, second.SweptAtStart);
            Assert.DoesNotContain(live, second.SweptAtStart);
        }
        finally
        {
            if (!orphan.HasExited)
            {
                orphan.Kill();
            }

            Directory.Delete(live);
            if (Directory.Exists(stale))
            {
                await new HookCgroup(stale).RemoveAsync(TimeSpan.FromSeconds(5));
            }
        }
    }

    private static int DeadPid()
    {
        using Process done = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        done.WaitForExit();
        return done.Id;
    }
}
