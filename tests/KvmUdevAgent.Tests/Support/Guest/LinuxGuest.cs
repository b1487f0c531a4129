using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>
/// A running test guest (<see cref="GuestImage"/>) in a TCG QEMU with <c>qemu-xhci</c> and the
/// monitor the agent uses (QMP or HMP on a unix socket). QEMU starts paused; the test connects to
/// the guest's report port (ttyS1) and only then lets it run, so no report is lost. The kernel's
/// console (ttyS0) goes to a file, quoted when a wait fails. Disposal kills QEMU by its PID.
/// </summary>
internal sealed class LinuxGuest : IAsyncDisposable
{
    // no_timer_check: under TCG the kernel's IO-APIC timer check fails ("IO-APIC + timer doesn't
    // work!") and panics; panic=-1 with -no-reboot turns a panic into QEMU exiting, which ends the waits.
    private const string CommandLine = "console=ttyS0 quiet no_timer_check panic=-1";
    private static readonly TimeSpan s_bootTimeout = TimeSpan.FromSeconds(120);
    private readonly string _dir;
    private readonly Socket _report;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly List<string> _errors = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private GuestReport _latest = GuestReport.Empty;
    private bool _closed;
    private Task _reader = Task.CompletedTask;
    private int _disposed;

    private LinuxGuest(string dir, QemuProcess qemu, Socket report, MonitorProtocol protocol)
    {
        _dir = dir;
        Qemu = qemu;
        _report = report;
        Protocol = protocol;
    }

    public QemuProcess Qemu { get; }

    public MonitorProtocol Protocol { get; }

    /// <summary>The monitor the agent is configured with, e.g. <c>unix:/tmp/kua-qemu-…/qmp.sock</c>.</summary>
    public string Monitor => "unix:" + (Protocol == MonitorProtocol.Qmp ? Qemu.QmpSocket : Qemu.HmpSocket);

    /// <summary>How long from QEMU's start until the guest's first report.</summary>
    public TimeSpan BootTime { get; private set; }

    public GuestReport Latest
    {
        get
        {
            lock (_gate)
            {
                return _latest;
            }
        }
    }

    public string ConsoleLog => File.Exists(ConsolePath) ? File.ReadAllText(ConsolePath) : string.Empty;

    private string ConsolePath => Path.Combine(_dir, "console.log");

    public static async Task<LinuxGuest> StartAsync(MonitorProtocol protocol)
    {
        GuestImage image = await GuestImage.GetAsync();
        string dir = Directory.CreateTempSubdirectory("kua-guest-").FullName;
        string reportSocket = Path.Combine(dir, "report.sock");
        long started = Stopwatch.GetTimestamp();
        QemuProcess? qemu = null;
        LinuxGuest? guest = null;
        try
        {
            qemu = await QemuProcess.StartAsync(new QemuOptions
            {
                Qmp = protocol == MonitorProtocol.Qmp,
                HmpUnix = protocol == MonitorProtocol.Hmp,
                ExtraArguments =
                [
                    "-m", "256M", "-no-reboot",
                    "-kernel", image.Kernel, "-initrd", image.Initrd, "-append", CommandLine,
                    "-chardev", "file,id=console,path=" + Path.Combine(dir, "console.log"), "-serial", "chardev:console",
                    "-chardev", "socket,id=report,path=" + reportSocket + ",server=on,wait=off", "-serial", "chardev:report",
                ],
            });
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            guest = new LinuxGuest(dir, qemu, socket, protocol);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(reportSocket));
            guest._reader = guest.ReadAsync();
            await using (var qmp = await ReadyQmpAsync(qemu))
            {
                await qmp.ExecuteAsync("cont", null, CancellationToken.None);
            }

            await guest.WaitForAsync(r => r.ReceivedAt != 0, "its first report", s_bootTimeout);
            guest.BootTime = Stopwatch.GetElapsedTime(started);
            return guest;
        }
        catch
        {
            if (guest is not null)
            {
                await guest.DisposeAsync();
            }
            else
            {
                qemu?.Dispose();
                Directory.Delete(dir, recursive: true);
            }

            throw;
        }
    }

    /// <summary>
    /// Waits until a report of the guest satisfies <paramref name="condition"/> (the latest one
    /// first); fails with <paramref name="what"/>, the last report and the kernel's console.
    /// </summary>
    public async Task<GuestReport> WaitForAsync(Func<GuestReport, bool> condition, string what, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            Task changed;
            GuestReport latest;
            lock (_gate)
            {
                latest = _latest;
                changed = _changed.Task;
                if (_errors.Count > 0)
                {
                    throw new InvalidOperationException("the guest failed: " + string.Join("; ", _errors) + "\nconsole:\n" + ConsoleLog);
                }

                if (condition(latest))
                {
                    return latest;
                }

                if (_closed)
                {
                    throw new InvalidOperationException($"the guest stopped before it saw {what}; last report: {latest}\nQEMU stderr: {Qemu.StdErr}\nconsole:\n{ConsoleLog}");
                }
            }

            TimeSpan left = deadline - DateTime.UtcNow;
            try
            {
                await changed.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"the guest never saw {what}; last report: {latest}\nconsole:\n{ConsoleLog}");
            }
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            using var stream = new NetworkStream(_report, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            List<string>? block = null;
            while (await reader.ReadLineAsync(_stop.Token) is { } raw)
            {
                string line = raw.TrimEnd('\r');
                if (line == "KUA begin")
                {
                    block = [];
                }
                else if (line == "KUA end" && block is not null)
                {
                    try
                    {
                        GuestReport report = GuestReport.Parse(block, Stopwatch.GetTimestamp());
                        Publish(() => _latest = report);
                    }
                    catch (FormatException e)
                    {
                        Publish(() => _errors.Add(e.Message));
                    }

                    block = null;
                }
                else if (line.StartsWith("KUA error ", StringComparison.Ordinal))
                {
                    Publish(() => _errors.Add(line));
                }
                else if (line.StartsWith("KUA ", StringComparison.Ordinal) && line != "KUA ready")
                {
                    block?.Add(line);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // QEMU went away, or we are disposing.
        }

        Publish(() => _closed = true);
    }

    private void Publish(Action change)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            change();
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private static async Task<QmpConnection> ReadyQmpAsync(QemuProcess qemu)
    {
        if (!MonitorEndpoint.TryParse("unix:" + qemu.ReadySocket, out MonitorEndpoint endpoint, out string? reason))
        {
            throw new InvalidOperationException(reason);
        }

        return (QmpConnection)await MonitorConnector.ConnectAsync(endpoint, MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Qemu.Dispose();
        await _stop.CancelAsync();
        _report.Dispose();
        await _reader;
        _stop.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
