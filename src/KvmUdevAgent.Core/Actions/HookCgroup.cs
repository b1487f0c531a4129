using System.Globalization;

namespace KvmUdevAgent.Core.Actions;

/// <summary>One hook's cgroup: everything the hook started, wherever its session or process group.</summary>
internal sealed class HookCgroup(string path)
{
    public string Path { get; } = path;

    /// <summary>Moves <paramref name="pid"/> into the cgroup.</summary>
    public bool TryAdd(int pid, out string error)
    {
        try
        {
            File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
            error = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot move process {pid} into {Path}: {e.Message}";
            return false;
        }
    }

    /// <summary>Sends <paramref name="signal"/> to every process in the cgroup (SIGKILL through <c>cgroup.kill</c>, atomically).</summary>
    public void Signal(int signal)
    {
        try
        {
            if (signal == HookNative.SigKill)
            {
                File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.kill"), "1");
                return;
            }

            foreach (string line in File.ReadAllLines(System.IO.Path.Combine(Path, "cgroup.procs")))
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                {
                    _ = HookNative.Kill(pid, signal);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone already: nothing left to signal.
        }
    }

    /// <summary>
    /// Kills what is left and removes the cgroup once it is empty (rmdir fails while a killed
    /// process is still exiting). False if it could not be removed within <paramref name="wait"/>.
    /// </summary>
    public async Task<bool> RemoveAsync(TimeSpan wait)
    {
        Signal(HookNative.SigKill);
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            if (Remove())
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            // No event to wait on short of inotify on cgroup.events; exits take microseconds.
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    internal bool Remove()
    {
        try
        {
            Directory.Delete(Path);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
