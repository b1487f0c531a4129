using System.Runtime.InteropServices;
using static KvmUdevAgent.Core.Actions.HookNative;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// One running hook: spawned with <c>posix_spawn</c> and <c>POSIX_SPAWN_SETSID</c>, so it is
/// the leader of a new session and process group (pgid = pid) from its first instruction,
/// with stdin from <c>/dev/null</c>, stdout/stderr on pipes, every other descriptor closed
/// (<c>closefrom(3)</c> in the child, whatever the rest of the daemon forgot to mark
/// close-on-exec), signal mask empty and dispositions default (.NET ignores SIGPIPE, which
/// exec would otherwise pass on), working directory <c>/</c>.
/// </summary>
/// <remarks>
/// One dedicated thread per hook polls the two pipes and a pidfd. The pidfd turns readable
/// when the main process exits but does not reap it: while it is an unreaped zombie its pid,
/// and so the process group id, cannot be reused, which makes <c>kill(-pgid)</c> safe until
/// <see cref="Reap"/>. .NET's own SIGCHLD handling only peeks (<c>waitid(WNOWAIT)</c>) at
/// children it did not start and leaves them alone, except when the runtime is PID 1 or
/// started with SIGCHLD ignored: then it reaps every child, the exit status is lost
/// (<see cref="Reap"/> returns nulls) and the group id is no longer pinned. Run the agent
/// under an init (systemd, or <c>docker --init</c>), not as PID 1.
/// </remarks>
internal sealed partial class HookProcess : IAsyncDisposable
{
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HookOutputBuffer _stdout;
    private readonly HookOutputBuffer _stderr;
    private readonly int _wakeWrite;
    private readonly Task _pump;
    private readonly Lock _reapLock = new();
    private (int? ExitCode, int? Signal)? _status;
    private int _disposed;

    private HookProcess(int pid, int pidfd, int stdoutRead, int stderrRead, int wakeRead, int wakeWrite, int outputLimit)
    {
        Pid = pid;
        _stdout = new HookOutputBuffer(outputLimit);
        _stderr = new HookOutputBuffer(outputLimit);
        _wakeWrite = wakeWrite;
        _pump = Task.Factory.StartNew(() => Pump(stdoutRead, stderrRead, pidfd, wakeRead), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Process id of the main process, which is also its session and process group id.</summary>
    public int Pid { get; }

    /// <summary>Why the hook is not in the cgroup it was started for; null when it is, or when none was asked for.</summary>
    public string? CgroupError { get; private init; }

    /// <summary>Completes when the main process has exited (it is not reaped yet).</summary>
    public Task Exited => _exited.Task;

    public HookOutputBuffer Stdout => _stdout;

    public HookOutputBuffer Stderr => _stderr;

    /// <summary>
    /// Spawns <paramref name="path"/> with exactly <paramref name="argv"/> and
    /// <paramref name="environment"/> (<c>NAME=value</c> strings). Throws
    /// <see cref="HookStartException"/> when it cannot, including when exec fails (glibc
    /// reports that from posix_spawn).
    /// </summary>
    /// <param name="path">Absolute path of the program.</param>
    /// <param name="argv">The whole argv, <c>argv[0]</c> included.</param>
    /// <param name="environment"><c>NAME=value</c> strings.</param>
    /// <param name="outputLimit">Bytes kept of stdout and of stderr each.</param>
    /// <param name="cgroup">When set, the hook runs in this cgroup from before its exec (see <see cref="HookCgroupGate"/>); <see cref="CgroupError"/> says if that failed.</param>
    public static unsafe HookProcess Start(string path, IReadOnlyList<string> argv, IReadOnlyList<string> environment, int outputLimit, HookCgroup? cgroup = null)
    {
        int* stdoutPipe = stackalloc int[2];
        int* stderrPipe = stackalloc int[2];
        int* wakePipe = stackalloc int[2];
        stdoutPipe[0] = stdoutPipe[1] = stderrPipe[0] = stderrPipe[1] = wakePipe[0] = wakePipe[1] = -1;
        var ok = false;
        try
        {
            // Close-on-exec on our ends; the child's ends become 1 and 2 through dup2, which
            // clears the flag on the copy. Only the read ends are non-blocking: O_NONBLOCK is
            // shared by dup'ed descriptors, and the hook's writes must block.
            if (Pipe2(stdoutPipe, OCloExec) != 0 || Pipe2(stderrPipe, OCloExec) != 0 || Pipe2(wakePipe, OCloExec | ONonBlock) != 0)
            {
                throw new HookStartException("pipe2", Marshal.GetLastPInvokeError());
            }
            SetNonBlocking(stdoutPipe[0]);
            SetNonBlocking(stderrPipe[0]);

            int pid;
            string? cgroupError = null;
            using (var gate = cgroup is null ? null : HookCgroupGate.Open(cgroup))
            {
                try
                {
                    pid = Spawn(path, argv, environment, stdoutPipe[1], stderrPipe[1], gate);
                }
                finally
                {
                    gate?.Spawned();
                }
                if (gate is not null && gate.PlacedPid != pid)
                {
                    cgroupError = gate.PlacedPid == 0 ? gate.Error : $"placed process {gate.PlacedPid}, not the hook {pid}";
                }
            }
            _ = Close(stdoutPipe[1]);
            _ = Close(stderrPipe[1]);
            stdoutPipe[1] = stderrPipe[1] = -1;

            var pidfd = PidfdOpen(pid);
            if (pidfd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                _ = Kill(-pid, SigKill);
                int status;
                _ = WaitPid(pid, &status, 0);
                throw new HookStartException("pidfd_open", errno);
            }
            var process = new HookProcess(pid, pidfd, stdoutPipe[0], stderrPipe[0], wakePipe[0], wakePipe[1], outputLimit) { CgroupError = cgroupError };
            ok = true;
            return process;
        }
        finally
        {
            if (!ok)
            {
                foreach (var fd in new[] { stdoutPipe[0], stdoutPipe[1], stderrPipe[0], stderrPipe[1], wakePipe[0], wakePipe[1] })
                {
                    if (fd >= 0)
                    {
                        _ = Close(fd);
                    }
                }
            }
        }
    }

    /// <summary>Sends <paramref name="signal"/> to the whole process group; a no-op once reaped or when the group is empty.</summary>
    public void SignalGroup(int signal)
    {
        lock (_reapLock)
        {
            if (_status is null)
            {
                _ = Kill(-Pid, signal);
            }
        }
    }

    /// <summary>Reaps the main process (blocks if it has not exited) and decodes its status. Idempotent.</summary>
    public unsafe (int? ExitCode, int? Signal) Reap()
    {
        lock (_reapLock)
        {
            if (_status is { } known)
            {
                return known;
            }
            int status;
            int rc;
            do
            {
                rc = WaitPid(Pid, &status, 0);
            }
            while (rc < 0 && Marshal.GetLastPInvokeError() == EIntr);
            // ECHILD: someone else reaped it (SIGCHLD ignored at runtime start); status unknown.
            _status = rc < 0 ? (null, null)
                : (status & 0x7f) == 0 ? ((status >> 8) & 0xff, null)
                : (null, status & 0x7f);
            return _status.Value;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="drain"/> for both pipes to reach end of file, then stops
    /// reading; a pipe still open then (held by a process that left the group) is marked truncated.
    /// </summary>
    public async Task CollectOutputAsync(TimeSpan drain)
    {
        try
        {
            await _pump.WaitAsync(drain).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Wake();
            await _pump.ConfigureAwait(false);
        }
    }

    /// <summary>Kills the group if the hook still runs, reaps it, stops the reader and releases the descriptors. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_status is null)
        {
            SignalGroup(SigKill);
            await _exited.Task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            Reap();
        }
        Wake();
        await _pump.ConfigureAwait(false);
        _ = Close(_wakeWrite);
    }

    private unsafe void Wake()
    {
        byte b = 1;
        _ = Write(_wakeWrite, &b, 1);
    }

    private unsafe void Pump(int stdoutRead, int stderrRead, int pidfd, int wakeRead)
    {
        var fds = stackalloc PollFd[4];
        fds[0] = new PollFd { Fd = stdoutRead, Events = PollIn };
        fds[1] = new PollFd { Fd = stderrRead, Events = PollIn };
        fds[2] = new PollFd { Fd = pidfd, Events = PollIn };
        fds[3] = new PollFd { Fd = wakeRead, Events = PollIn };
        var buffer = stackalloc byte[16 * 1024];
        try
        {
            while (fds[0].Fd >= 0 || fds[1].Fd >= 0 || fds[2].Fd >= 0)
            {
                if (Poll(fds, 4, -1) < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EIntr)
                    {
                        continue;
                    }
                    _exited.TrySetException(new IOException($"poll failed: errno {Marshal.GetLastPInvokeError()}"));
                    break;
                }
                if (fds[2].REvents != 0)
                {
                    _exited.TrySetResult();
                    fds[2].Fd = -1;
                }
                for (var i = 0; i < 2; i++)
                {
                    if (fds[i].Fd >= 0 && fds[i].REvents != 0 && !Drain(fds[i].Fd, i == 0 ? _stdout : _stderr, buffer))
                    {
                        fds[i].Fd = -1;
                    }
                }
                if (fds[3].REvents != 0)
                {
                    // Asked to stop: whatever is still open was cut short.
                    if (fds[0].Fd >= 0)
                    {
                        _stdout.MarkCut();
                    }
                    if (fds[1].Fd >= 0)
                    {
                        _stderr.MarkCut();
                    }
                    break;
                }
            }
        }
        finally
        {
            _ = Close(stdoutRead);
            _ = Close(stderrRead);
            _ = Close(pidfd);
            _ = Close(wakeRead);
        }
    }

    /// <summary>Reads what is there; false at end of file or on error.</summary>
    private static unsafe bool Drain(int fd, HookOutputBuffer output, byte* buffer)
    {
        while (true)
        {
            var n = Read(fd, buffer, 16 * 1024);
            if (n > 0)
            {
                output.Append(new ReadOnlySpan<byte>(buffer, (int)n));
                continue;
            }
            if (n == 0)
            {
                return false;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EIntr)
            {
                continue;
            }
            return errno == EAgain;
        }
    }
}
