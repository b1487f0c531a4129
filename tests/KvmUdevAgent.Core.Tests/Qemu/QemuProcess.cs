using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>
/// A real, paused QEMU (<c>q35</c>, TCG, <c>-S</c>, <c>qemu-xhci</c>) for tests, with the monitors
/// a test asks for. It records the PID, waits with a timeout until QEMU answers on a QMP socket
/// of its own (so a bad command line fails here, with QEMU's message), and <see cref="Dispose"/>
/// kills it by PID and deletes its temp dir, even when the test failed.
/// <see cref="RestartAsync"/> kills it and starts a new QEMU with the same command line, so the
/// same sockets come back. Reusable by other test projects (the daemon tests): copy or link it.
/// </summary>
public sealed class QemuProcess : IDisposable
{
    public const string Binary = "qemu-system-x86_64";
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(20);

    private readonly List<string> _arguments;
    private readonly List<string> _unixSockets = [];
    private readonly List<int> _tcpPorts = [];
    private readonly StringBuilder _stderr = new();
    private Process? _process;
    private int _disposed;

    private QemuProcess(QemuOptions options)
    {
        TempDir = Directory.CreateTempSubdirectory("kua-qemu-").FullName;
        _arguments = ["-machine", options.Machine + ",accel=tcg", "-nodefaults", "-display", "none", "-device", "qemu-xhci,id=xhci"];
        if (options.StartPaused)
        {
            _arguments.Add("-S");
        }

        if (options.IncomingUnixSocket is { } incoming)
        {
            _arguments.AddRange(["-incoming", "unix:" + incoming]);
        }

        if (options.Qmp)
        {
            QmpSocket = Path.Combine(TempDir, "qmp.sock");
            _arguments.AddRange(["-qmp", "unix:" + QmpSocket + ",server=on,wait=off"]);
            _unixSockets.Add(QmpSocket);
        }

        if (options.HmpUnix)
        {
            HmpSocket = Path.Combine(TempDir, "hmp.sock");
            _arguments.AddRange(["-monitor", "unix:" + HmpSocket + ",server=on,wait=off"]);
            _unixSockets.Add(HmpSocket);
        }

        if (options.HmpTcp)
        {
            // As in the seed: -monitor tcp:127.0.0.1:PORT,server,nowait
            HmpTcpPort = FreeTcpPort();
            _arguments.AddRange(["-monitor", "tcp:127.0.0.1:" + HmpTcpPort + ",server=on,wait=off"]);
            _tcpPorts.Add(HmpTcpPort);
        }

        if (options.HmpTelnet)
        {
            HmpTelnetPort = FreeTcpPort();
            _arguments.AddRange(["-monitor", "telnet:127.0.0.1:" + HmpTelnetPort + ",server=on,wait=off"]);
            _tcpPorts.Add(HmpTelnetPort);
        }

        for (int i = 1; i <= options.PcieRootPorts; i++)
        {
            _arguments.AddRange(["-device", "pcie-root-port,id=rp" + i + ",bus=pcie.0,chassis=" + i]);
        }

        _arguments.AddRange(options.ExtraArguments);
    }

    public string TempDir { get; }

    public string? QmpSocket { get; }

    public string? HmpSocket { get; }

    public int HmpTcpPort { get; }

    public int HmpTelnetPort { get; }

    /// <summary>PID of the running QEMU; 0 when stopped.</summary>
    public int Pid { get; private set; }

    public IReadOnlyList<string> Arguments => _arguments;

    /// <summary>
    /// When not 0, QEMU is launched in the network namespace of this process (nsenter), so its
    /// tcp monitors are reachable from a daemon that runs in a private namespace.
    /// </summary>
    public int NetnsPid { get; set; }

    /// <summary>Starts QEMU and waits until every monitor accepts connections.</summary>
    public static async Task<QemuProcess> StartAsync(QemuOptions options)
    {
        var qemu = new QemuProcess(options);
        try
        {
            await qemu.LaunchAsync().ConfigureAwait(false);
            return qemu;
        }
        catch
        {
            qemu.Dispose();
            throw;
        }
    }

    /// <summary>Creates the temp dir and socket paths without starting QEMU (for "VM starts later" tests).</summary>
    public static QemuProcess Prepare(QemuOptions options) => new(options);

    public async Task LaunchAsync()
    {
        if (Pid != 0)
        {
            throw new InvalidOperationException("QEMU is already running.");
        }

        RequireBinary();
        foreach (string socket in _unixSockets)
        {
            File.Delete(socket);
        }

        File.Delete(ReadySocket);
        var start = new ProcessStartInfo(NetnsPid == 0 ? Binary : "nsenter")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (NetnsPid != 0)
        {
            // A new network namespace starts with its loopback down: tcp:127.0.0.1 needs it up.
            using (Process up = Process.Start("nsenter", ["--net=/proc/" + NetnsPid + "/ns/net", "--", "ip", "link", "set", "lo", "up"]))
            {
                await up.WaitForExitAsync().WaitAsync(s_readyTimeout).ConfigureAwait(false);
                if (up.ExitCode != 0)
                {
                    throw new InvalidOperationException("Could not bring up the loopback of the network namespace of pid " + NetnsPid + " (needs nsenter from util-linux and ip from iproute2).");
                }
            }

            // nsenter without --fork execs QEMU: the pid stays QEMU's.
            foreach (string argument in (string[])["--net=/proc/" + NetnsPid + "/ns/net", "--", Binary])
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (string argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A QMP socket of the test support's own, so probing readiness never competes with the
        // code under test for a monitor (QEMU serves one client per monitor).
        start.ArgumentList.Add("-qmp");
        start.ArgumentList.Add("unix:" + ReadySocket + ",server=on,wait=off");
        Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + Binary + ".");
        _process = process;
        Pid = process.Id;
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await WaitReadyAsync(process).ConfigureAwait(false);
    }

    /// <summary>A QMP socket of the test's own, beside the one under test (QEMU serves one client per monitor).</summary>
    public string ReadySocket => Path.Combine(TempDir, "ready.qmp");

    /// <summary>
    /// QEMU creates its monitor sockets and even sends the QMP greeting (from the monitor I/O
    /// thread) before it builds the machine, and a bad -device makes it exit after that. Commands
    /// are run by the main loop only, so ready = the support's own QMP socket answers
    /// <c>qmp_capabilities</c>; then the test's monitors are checked to be listening.
    /// </summary>
    private async Task WaitReadyAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(s_readyTimeout);
        try
        {
            while (true)
            {
                ThrowIfExited(process);
                if (File.Exists(ReadySocket) && await AnswersCommandsAsync(timeout.Token).ConfigureAwait(false))
                {
                    break;
                }

                await Task.Delay(20, timeout.Token).ConfigureAwait(false);
            }

            foreach (string socket in _unixSockets)
            {
                while (!File.Exists(socket))
                {
                    ThrowIfExited(process);
                    await Task.Delay(20, timeout.Token).ConfigureAwait(false);
                }
            }

            foreach (int port in _tcpPorts)
            {
                // Checked in /proc/net/tcp rather than by connecting: a connection would compete
                // with the code under test for the monitor.
                while (!IsListening(process.Id, port))
                {
                    ThrowIfExited(process);
                    await Task.Delay(20, timeout.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("QEMU was not ready within " + s_readyTimeout + ". stderr: " + StdErr);
        }
    }

    private async Task<bool> AnswersCommandsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(ReadySocket), cancellationToken).ConfigureAwait(false);
            using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? greeting = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync("{\"execute\":\"qmp_capabilities\"}\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            string? answer = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            return greeting is not null && answer is not null && answer.Contains("\"return\"", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            // Not listening yet, or QEMU exited while building the machine: the caller checks.
            return false;
        }
    }

    private void ThrowIfExited(Process process)
    {
        if (process.HasExited)
        {
            process.WaitForExit();
            throw new InvalidOperationException("QEMU (in " + TempDir + ") exited with " + process.ExitCode + ": " + StdErr.Trim());
        }
    }

    /// <summary>What QEMU printed while starting (errors, warnings).</summary>
    public string StdErr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Kills QEMU by its PID (SIGKILL, like a crash) and waits for it to exit.</summary>
    public void Kill()
    {
        Process? process = _process;
        _process = null;
        Pid = 0;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Kills QEMU and starts the same command line again (same sockets and ports).</summary>
    public async Task RestartAsync()
    {
        Kill();
        await LaunchAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        try
        {
            Directory.Delete(TempDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static void RequireBinary()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            if (File.Exists(Path.Combine(dir, Binary)))
            {
                return;
            }
        }

        throw new InvalidOperationException(Binary + " is missing: install the Debian package qemu-system-x86.");
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsListening(int pid, int port)
    {
        // QEMU's own view: it may run in another network namespace (NetnsPid).
        string hexPort = ":" + port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture) + " ";
        foreach (string line in File.ReadLines("/proc/" + pid + "/net/tcp"))
        {
            // local_address is field 2; state 0A is LISTEN.
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 3 && (fields[1] + " ").EndsWith(hexPort, StringComparison.Ordinal) && fields[3] == "0A")
            {
                return true;
            }
        }

        return false;
    }
}
