using System.Globalization;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Where hooks get a cgroup v2 each (issue 17): children of the agent's own cgroup (under systemd,
/// the service's cgroup; the unit says <c>Delegate=yes</c> so systemd leaves that subtree to us).
/// A child that calls <c>setsid</c> leaves the hook's process group but never its cgroup, and
/// <c>cgroup.kill</c> (Linux 5.14) kills everything in it at once.
/// </summary>
/// <remarks>
/// The kernel's "no internal processes" rule only binds a cgroup that enables controllers for
/// its children (<c>cgroup.subtree_control</c>); the agent enables none, so its hook cgroups can sit
/// next to the agent's own process without moving the agent into a leaf first.
/// </remarks>
internal sealed class HookCgroups
{
    private const string ProcSelfCgroup = "/proc/self/cgroup";
    private readonly string _directory;
    private readonly string _prefix;
    private long _next;

    private HookCgroups(string directory)
    {
        _directory = directory;
        _prefix = "kua-hook." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".";
    }

    /// <summary>The cgroup directory hooks are created in.</summary>
    public string Directory => _directory;

    /// <summary>Hook cgroups of agents that no longer run, removed at start (what still ran in them was killed).</summary>
    public IReadOnlyList<string> SweptAtStart { get; private set; } = [];

    /// <summary>
    /// Finds the agent's cgroup v2 directory and checks that a child can be made and killed there.
    /// Null with a reason when not (cgroup v1 only, no cgroup2 mount, read-only, kernel without <c>cgroup.kill</c>).
    /// </summary>
    public static HookCgroups? TryCreate(out string reason)
    {
        string? own = null;
        try
        {
            foreach (string line in File.ReadLines(ProcSelfCgroup))
            {
                if (line.StartsWith("0::", StringComparison.Ordinal))
                {
                    own = line[3..];
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"cannot read {ProcSelfCgroup}: {e.Message}";
            return null;
        }

        if (own is null || !own.StartsWith('/'))
        {
            reason = "the agent is in no cgroup v2 hierarchy";
            return null;
        }

        MountInfoEntry? mount = MountInfo.Read().FirstOrDefault(m => m.FsType == "cgroup2" && m.Root == "/");
        if (mount is null)
        {
            reason = "no cgroup2 filesystem is mounted";
            return null;
        }

        string directory = Path.TrimEndingDirectorySeparator(mount.MountPoint + (own == "/" ? "" : own));
        var cgroups = new HookCgroups(directory);
        string probe = Path.Combine(directory, cgroups._prefix + "probe");
        try
        {
            System.IO.Directory.CreateDirectory(probe);
            bool canKill = File.Exists(Path.Combine(probe, "cgroup.kill"));
            System.IO.Directory.Delete(probe);
            if (!canKill)
            {
                reason = "the kernel has no cgroup.kill (Linux 5.14 or later)";
                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"cannot create a cgroup in {directory}: {e.Message}";
            return null;
        }

        cgroups.SweptAtStart = SweepStale(directory);
        reason = "";
        return cgroups;
    }

    /// <summary>
    /// An agent killed without a chance to clean up (SIGKILL, OOM) leaves its hooks' cgroups behind,
    /// with hooks that nobody times out any more: kill them, as that agent's timeout would have, and
    /// remove the cgroups. Only cgroups named <c>kua-hook.PID.N</c> whose PID no longer runs are
    /// touched, so another agent's hooks beside ours (tests share one cgroup) are left alone.
    /// </summary>
    private static List<string> SweepStale(string directory)
    {
        var swept = new List<string>();
        IEnumerable<string> candidates;
        try
        {
            candidates = System.IO.Directory.EnumerateDirectories(directory, "kua-hook.*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return swept;
        }

        foreach (string path in candidates)
        {
            string[] parts = Path.GetFileName(path).Split('.');
            if (parts.Length == 3
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int owner)
                && owner != Environment.ProcessId
                && !System.IO.Directory.Exists("/proc/" + owner.ToString(CultureInfo.InvariantCulture))
                && new HookCgroup(path).RemoveAsync(TimeSpan.FromSeconds(1)).GetAwaiter().GetResult())
            {
                swept.Add(path);
            }
        }

        return swept;
    }

    /// <summary>Makes a fresh, empty cgroup for one hook (<see cref="HookProcess.Start"/> puts it there); null with a reason when that fails.</summary>
    public HookCgroup? TryCreateOne(out string reason)
    {
        string name = _prefix + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
        string path = Path.Combine(_directory, name);
        try
        {
            System.IO.Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"cannot create {path}: {e.Message}";
            return null;
        }

        reason = "";
        return new HookCgroup(path);
    }
}
