using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace KvmUdevAgent.Tests.Support;

/// <summary>
/// The agent daemon as a real process, started as a user would (<c>kvm-udev-agent run --config FILE</c>)
/// but inside a private network namespace (<c>unshare -n</c>), so the netlink messages a test injects
/// there reach only this daemon. Readiness is the real systemd protocol: the test binds
/// <c>NOTIFY_SOCKET</c> and waits for <c>READY=1</c>. Stopped by PID in <see cref="DisposeAsync"/>.
/// </summary>
internal sealed partial class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Socket _notify;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _notifyLoop;
    private int _disposed;

    private DaemonProcess(Process process, Socket notify)
    {
        _process = process;
        _notify = notify;
        _notifyLoop = Task.Run(ReadNotificationsAsync);
    }

    public int Pid => _process.Id;

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Every sd_notify message received, in order.</summary>
    public List<string> Notifications { get; } = [];

    public static DaemonProcess Start(string configPath, string workDirectory, params string[] extraArgs)
    {
        string notifyPath = Path.Combine(workDirectory, "notify.sock");
        File.Delete(notifyPath);
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        var psi = new ProcessStartInfo("unshare")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workDirectory,
        };
        foreach (string a in (string[])["--net", "--", RepoPaths.AgentBinary, "run", "--config", configPath, .. extraArgs])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NOTIFY_SOCKET"] = notifyPath;
        Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the daemon");
        var daemon = new DaemonProcess(process, notify);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (daemon._stderr)
                {
                    daemon._stderr.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (daemon._stdout)
                {
                    daemon._stdout.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return daemon;
    }

    /// <summary>Waits for READY=1; fails with the daemon's stderr if it exits first or the timeout passes.</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        Task exited = _process.WaitForExitAsync();
        Task first = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout ?? TimeSpan.FromSeconds(30)));
        if (first != _ready.Task)
        {
            throw new InvalidOperationException(
                (_process.HasExited ? $"daemon exited with {_process.ExitCode} before READY=1" : "daemon did not signal READY=1 in time") + "\nstderr:\n" + Stderr);
        }
    }

    /// <summary>Waits until the daemon's stderr (its log) contains <paramref name="text"/>.</summary>
    public async Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Stderr.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"the daemon never logged \"{text}\"" + (_process.HasExited ? $" (it exited with {_process.ExitCode})" : string.Empty) + "\nstderr:\n" + Stderr);
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Sends a signal by PID (SIGTERM 15, SIGHUP 1, SIGKILL 9).</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited)
        {
            _ = Tmds.Linux.LibC.kill(_process.Id, signal);
        }
    }

    /// <summary>
    /// Stops the daemon (SIGSTOP) and waits until every one of its threads is stopped. Until the stop
    /// has reached a thread, that thread keeps running (the receive loop keeps reading its socket), and a
    /// SIGCONT sent before the stop was acted on cancels it altogether: on a loaded machine a test that
    /// only sent SIGSTOP saw the daemon read a whole storm meant to overflow its socket.
    /// </summary>
    public async Task FreezeAsync()
    {
        Signal(Tmds.Linux.LibC.SIGSTOP);
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!AllThreadsStopped())
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                Thaw();
                throw new TimeoutException("the daemon's threads did not all stop within 20 s of SIGSTOP");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the one daemon thread named <paramref name="threadName"/>
    /// (<c>tgkill</c>): a signal sent to the process (a hook's SIGCHLD, SIGCONT after a stop) goes to
    /// whichever thread the kernel picks, this makes the pick.
    /// </summary>
    public void SignalThread(string threadName, int signal)
    {
        int[] tids = [.. Directory.EnumerateDirectories($"/proc/{_process.Id}/task")
            .Where(task => File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == threadName)
            .Select(task => int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture))];
        int tid = Assert.Single(tids);
        Assert.True(TgKill(_process.Id, tid, signal) == 0, $"tgkill: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "tgkill", SetLastError = true)]
    private static partial int TgKill(int tgid, int tid, int signal);

    /// <summary>Resumes a daemon stopped by <see cref="FreezeAsync"/> (SIGCONT).</summary>
    public void Thaw() => Signal(Tmds.Linux.LibC.SIGCONT);

    private bool AllThreadsStopped()
    {
        foreach (string task in Directory.EnumerateDirectories($"/proc/{_process.Id}/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread has exited
            }

            // "tid (comm) S ...": the state follows the last ')' (comm may hold anything).
            char state = stat[stat.LastIndexOf(')') + 2];
            if (state is not ('T' or 't'))
            {
                return false;
            }
        }

        return true;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    private async Task ReadNotificationsAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await _notify.ReceiveAsync(buffer, SocketFlags.None);
                string message = Encoding.UTF8.GetString(buffer, 0, n);
                lock (Notifications)
                {
                    Notifications.Add(message);
                }

                if (message.Split('\n').Contains("READY=1"))
                {
                    _ready.TrySetResult();
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                Signal(15);
                try
                {
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
                }
                catch (TimeoutException)
                {
                    _process.Kill();
                    await _process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            _notify.Dispose();
            await _notifyLoop;
            _process.Dispose();
        }
    }
}
