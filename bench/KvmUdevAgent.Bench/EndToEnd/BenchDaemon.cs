using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// The shipping daemon (<c>kvm-udev-agent run --config FILE</c>) as a real process, optionally in a
/// private network namespace (<c>unshare --net</c>) so injected netlink messages reach only it.
/// Readiness is the systemd protocol: the harness binds <c>NOTIFY_SOCKET</c> and timestamps
/// <c>READY=1</c> as it arrives, so <see cref="ReadyAfter"/> is exec → ready. The log goes to a
/// file (nothing in the harness reads it while measuring). Stopped by PID.
/// </summary>
internal sealed class BenchDaemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Socket _notify;
    private readonly Thread _notifyThread;
    private readonly TaskCompletionSource<TimeSpan> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _started;
    private int _disposed;

    private BenchDaemon(Process process, Socket notify, long started, string logPath)
    {
        _process = process;
        _notify = notify;
        _started = started;
        LogPath = logPath;
        _notifyThread = new Thread(ReadNotifications) { IsBackground = true, Name = "bench-notify" };
        _notifyThread.Start();
    }

    /// <summary>The daemon's PID (<c>unshare --net</c> and <c>nsenter --net</c> exec the daemon: same PID).</summary>
    public int Pid => _process.Id;

    public string LogPath { get; }

    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : string.Empty;

    /// <summary>exec → READY=1, once ready.</summary>
    public TimeSpan ReadyAfter => _ready.Task.IsCompletedSuccessfully ? _ready.Task.Result : TimeSpan.Zero;

    public static BenchDaemon Start(string binary, string configPath, string work, bool privateNetwork, params string[] extraArgs) =>
        StartUnder(privateNetwork ? ["unshare", "--net", "--"] : [], binary, configPath, work, extraArgs);

    /// <summary>
    /// The daemon in the network namespace of process <paramref name="pid"/> (<c>nsenter --net</c>, which
    /// execs it: same PID), e.g. a private udevd's, to hear what that udevd broadcasts.
    /// </summary>
    public static BenchDaemon StartInNetworkOf(int pid, string binary, string configPath, string work) =>
        StartUnder(["nsenter", "--target", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--net", "--"], binary, configPath, work, []);

    private static BenchDaemon StartUnder(string[] prefix, string binary, string configPath, string work, string[] extraArgs)
    {
        string notifyPath = Path.Combine(work, "notify.sock");
        string logPath = Path.Combine(work, "daemon.log");
        File.Delete(notifyPath);
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        // sh only redirects stderr to the log file and execs; unshare (if any) execs the daemon.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = work, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$@\" >>\"$KUA_BENCH_LOG\" 2>&1");
        psi.ArgumentList.Add("sh");
        foreach (string a in prefix)
        {
            psi.ArgumentList.Add(a);
        }

        // Profiling aid: KUA_BENCH_WRAP="perf record -g -o FILE --" runs the daemon under a wrapper
        // (inside the namespace, so injection still reaches it).
        foreach (string a in (Environment.GetEnvironmentVariable("KUA_BENCH_WRAP") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            psi.ArgumentList.Add(a);
        }

        // Profiling aid: KUA_BENCH_DAEMON_ENV (as for StartDirect) through env(1), which execs the
        // daemon (same PID), so the variables reach the daemon and not the harness.
        string[] daemonEnv = (Environment.GetEnvironmentVariable("KUA_BENCH_DAEMON_ENV") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (daemonEnv.Length > 0)
        {
            psi.ArgumentList.Add("env");
            foreach (string kv in daemonEnv)
            {
                psi.ArgumentList.Add(kv);
            }
        }

        foreach (string a in (string[])[binary, "run", "--config", configPath, .. extraArgs])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NOTIFY_SOCKET"] = notifyPath;
        psi.Environment["KUA_BENCH_LOG"] = logPath;
        long started = Stopwatch.GetTimestamp();
        Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the daemon");
        return new BenchDaemon(process, notify, started, logPath);
    }

    /// <summary>
    /// The daemon exec'd directly (no shell, no unshare), for the start-to-ready figure: the clock
    /// starts just before fork+exec.
    /// </summary>
    public static BenchDaemon StartDirect(string binary, string configPath, string work)
    {
        string notifyPath = Path.Combine(work, "notify.sock");
        string logPath = Path.Combine(work, "daemon.log");
        File.Delete(notifyPath);
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        // KUA_BENCH_WRAP applies here too (bench/method-order records the start-up methods this way);
        // the start-to-ready figure is then the wrapper's, not the daemon's.
        string[] wrap = (Environment.GetEnvironmentVariable("KUA_BENCH_WRAP") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var psi = new ProcessStartInfo(wrap.Length > 0 ? wrap[0] : binary) { UseShellExecute = false, WorkingDirectory = work, RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in (string[])[.. wrap.Skip(1), .. wrap.Length > 0 ? [binary] : Array.Empty<string>(), "run", "--config", configPath])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NOTIFY_SOCKET"] = notifyPath;
        // Profiling aid: KUA_BENCH_DAEMON_ENV="DOTNET_GCgen0size=0x100000 ..." sets variables for the daemon only.
        foreach (string kv in (Environment.GetEnvironmentVariable("KUA_BENCH_DAEMON_ENV") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = kv.IndexOf('=', StringComparison.Ordinal);
            psi.Environment[kv[..eq]] = kv[(eq + 1)..];
        }

        long started = Stopwatch.GetTimestamp();
        Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the daemon");
        var daemon = new BenchDaemon(process, notify, started, logPath);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.WriteLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return daemon;
    }

    public async Task<TimeSpan> WaitReadyAsync(TimeSpan? timeout = null)
    {
        Task exited = _process.WaitForExitAsync();
        Task first = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout ?? TimeSpan.FromSeconds(30)));
        if (first != _ready.Task)
        {
            throw new InvalidOperationException((_process.HasExited ? $"the daemon exited with {_process.ExitCode} before READY=1" : "the daemon did not signal READY=1 in time") + "\nlog:\n" + Log);
        }

        return await _ready.Task;
    }

    /// <summary>VmRSS from /proc/PID/status, in KiB.</summary>
    public long RssKiB() => ProcStatus.RssKiB(_process.Id);

    /// <summary>Waits until the log contains <paramref name="text"/>.</summary>
    public async Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (deadline.Elapsed > timeout || _process.HasExited)
            {
                throw new TimeoutException($"the daemon never logged \"{text}\"\nlog:\n{Log}");
            }

            await Task.Delay(20);
        }
    }

    private void ReadNotifications()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = _notify.Receive(buffer);
                long now = Stopwatch.GetTimestamp();
                if (Encoding.UTF8.GetString(buffer, 0, n).Split('\n').Contains("READY=1"))
                {
                    _ready.TrySetResult(Stopwatch.GetElapsedTime(_started, now));
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
                _ = Tmds.Linux.LibC.kill(_process.Id, 15);
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
            _notifyThread.Join(TimeSpan.FromSeconds(2));
            _process.Dispose();
        }
    }
}
