using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>
/// A private rsyslogd for tests (independent of xunit, so other test projects can reuse it):
/// its own config, work dir, imuxsock socket, imudp and imtcp on free loopback ports, and an
/// omfile output of one JSON object per message in a temp dir. It never touches the machine's
/// rsyslog or /dev/log (<c>SysSock.Use="off"</c>). The process is started with <c>-n</c> (no fork),
/// so its PID is ours; <see cref="DisposeAsync"/> kills it by that PID and deletes the directory.
/// Design §5: imuxsock needs <c>useSpecialParser="off"</c> or it mangles RFC 5424, and
/// <c>ignoreTimestamp="off"</c> to keep the sender's timestamp.
/// </summary>
public sealed class RsyslogServer : IAsyncDisposable, IDisposable
{
    /// <summary>rsyslog's limit; its default (8 KiB) would cut the 64 KiB tests.</summary>
    public const string MaxMessageSize = "256k";

    private readonly string _executable;
    private Process? _process;
    private int _disposed;

    private RsyslogServer(string executable, string directory, int udpPort, int tcpPort)
    {
        _executable = executable;
        Directory = directory;
        SocketPath = Path.Combine(directory, "log.sock");
        OutputPath = Path.Combine(directory, "messages.jsonl");
        ConfigPath = Path.Combine(directory, "rsyslog.conf");
        PidFile = Path.Combine(directory, "rsyslogd.pid");
        UdpPort = udpPort;
        TcpPort = tcpPort;
    }

    public string Directory { get; }

    /// <summary>The imuxsock socket (a datagram socket, like /dev/log).</summary>
    public string SocketPath { get; }

    public string OutputPath { get; }

    public string ConfigPath { get; }

    public string PidFile { get; }

    public int UdpPort { get; }

    public int TcpPort { get; }

    /// <summary>The running rsyslogd's PID, or null when stopped.</summary>
    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public string UnixTarget => $"unix:{SocketPath}";

    public string UdpTarget => $"udp:127.0.0.1:{UdpPort}";

    public string TcpTarget => $"tcp:127.0.0.1:{TcpPort}";

    /// <summary>Writes the config and starts rsyslogd; returns when all three inputs deliver to the file.</summary>
    public static async Task<RsyslogServer> StartAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        string executable = FindExecutable();
        string directory = System.IO.Directory.CreateTempSubdirectory("kua-rsyslog-").FullName;
        var server = new RsyslogServer(executable, directory, FreePort(SocketType.Dgram, ProtocolType.Udp), FreePort(SocketType.Stream, ProtocolType.Tcp));
        try
        {
            await File.WriteAllTextAsync(server.ConfigPath, server.Config(), cancellationToken);
            await server.CheckConfigAsync(cancellationToken);
            await server.StartProcessAsync(timeout ?? TimeSpan.FromSeconds(20), cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts rsyslogd again after <see cref="StopAsync"/>, on the same socket path and ports.</summary>
    public Task StartAgainAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        StartProcessAsync(timeout ?? TimeSpan.FromSeconds(20), cancellationToken);

    /// <summary>Kills rsyslogd (SIGKILL, by PID) and waits for it to exit. Its sockets close with it.</summary>
    public async Task StopAsync()
    {
        Process? process = _process;
        _process = null;
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

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Every message received so far, in file order.</summary>
    public IReadOnlyList<ReceivedSyslogMessage> ReadAll()
    {
        if (!File.Exists(OutputPath))
        {
            return [];
        }

        using var stream = new FileStream(OutputPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, new UTF8Encoding(false, false));

        // One read to the end, then only lines that end in a newline: rsyslogd may be in the middle
        // of writing one. Reading line by line instead would hand that line over in two pieces (a
        // StreamReader at the end of a growing file reads on after the first piece), and a piece can
        // end in a brace: that broke a parse under load.
        string text = reader.ReadToEnd();
        var messages = new List<ReceivedSyslogMessage>();
        foreach (string line in text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            messages.Add(ReceivedSyslogMessage.Parse(line));
        }

        return messages;
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> received messages satisfy <paramref name="predicate"/>
    /// (polling the output file); throws <see cref="TimeoutException"/> listing what did arrive.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedSyslogMessage>> WaitForAsync(Func<ReceivedSyslogMessage, bool> predicate, int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var all = ReadAll();
            var found = all.Where(predicate).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"rsyslogd received {found.Count} of {count} expected messages within {timeout.TotalSeconds} s; {all.Count} in total; last: {(all.Count > 0 ? all[^1].Raw : "none")}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Waits for one message containing <paramref name="token"/> in its raw text.</summary>
    public async Task<ReceivedSyslogMessage> WaitForTokenAsync(string token, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        (await WaitForAsync(m => m.Raw.Contains(token, StringComparison.Ordinal), 1, timeout, cancellationToken))[0];

    private string Config() => string.Create(CultureInfo.InvariantCulture, $$"""
        global(workDirectory="{{Directory}}" maxMessageSize="{{MaxMessageSize}}" net.enableDNS="off")
        module(load="imuxsock" SysSock.Use="off")
        input(type="imuxsock" socket="{{SocketPath}}" useSpecialParser="off" ignoreTimestamp="off" parseHostname="on" createPath="off")
        module(load="imudp")
        # The tests send 64 KiB datagrams: a busy rsyslogd must not drop them from the default buffer.
        input(type="imudp" address="127.0.0.1" port="{{UdpPort}}" rcvbufSize="8m")
        module(load="imtcp")
        input(type="imtcp" address="127.0.0.1" port="{{TcpPort}}")
        template(name="kuaJson" type="list" option.jsonf="on") {
          property(outname="pri" name="pri" format="jsonf")
          property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
          property(outname="hostname" name="hostname" format="jsonf")
          property(outname="app" name="app-name" format="jsonf")
          property(outname="procid" name="procid" format="jsonf")
          property(outname="msgid" name="msgid" format="jsonf")
          property(outname="sd" name="structured-data" format="jsonf")
          property(outname="msg" name="msg" format="jsonf")
          property(outname="raw" name="rawmsg" format="jsonf")
          property(outname="input" name="inputname" format="jsonf")
        }
        action(type="omfile" file="{{OutputPath}}" template="kuaJson")

        """);

    private async Task CheckConfigAsync(CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(_executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in (string[])["-N1", "-f", ConfigPath])
        {
            psi.ArgumentList.Add(arg);
        }

        using Process check = Process.Start(psi)!;
        Task<string> stderr = check.StandardError.ReadToEndAsync(cancellationToken);
        Task<string> stdout = check.StandardOutput.ReadToEndAsync(cancellationToken);
        await check.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException($"rsyslogd -N1 rejected the test config ({check.ExitCode}): {await stderr}{await stdout}");
        }
    }

    private async Task StartProcessAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(_executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in (string[])["-n", "-f", ConfigPath, "-i", PidFile])
        {
            psi.ArgumentList.Add(arg);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start rsyslogd");
        var errors = new StringBuilder();
        _process.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
        _process.OutputDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        try
        {
            await WaitReadyAsync(timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or SocketException)
        {
            string output;
            lock (errors)
            {
                output = errors.ToString();
            }

            throw new InvalidOperationException($"rsyslogd (pid {_process?.Id}) did not become ready: {ex.Message}; its output: {output}", ex);
        }
    }

    /// <summary>Ready = a probe sent over each input has reached the output file.</summary>
    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        string token = "kua-probe-" + Guid.NewGuid().ToString("N");
        var deadline = Stopwatch.StartNew();
        using var udp = new Socket(SocketType.Dgram, ProtocolType.Udp);
        using var unix = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        bool tcpSent = false, unixSent = false;
        while (true)
        {
            if (_process is null || _process.HasExited)
            {
                throw new TimeoutException($"rsyslogd exited with status {_process?.ExitCode}");
            }

            byte[] Probe(string input) => Encoding.ASCII.GetBytes($"<14>1 2000-01-01T00:00:00Z probe probe - - - {token}-{input}");
            if (!unixSent && File.Exists(SocketPath))
            {
                try
                {
                    await unix.SendToAsync(Probe("unix"), SocketFlags.None, new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
                    unixSent = true;
                }
                catch (SocketException)
                {
                    // Bound but not yet reading; next round.
                }
            }

            if (!tcpSent)
            {
                try
                {
                    using var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp);
                    await tcp.ConnectAsync(IPAddress.Loopback, TcpPort, cancellationToken);
                    byte[] probe = Probe("tcp");
                    await tcp.SendAsync(Encoding.ASCII.GetBytes($"{probe.Length} ").Concat(probe).ToArray(), SocketFlags.None, cancellationToken);
                    tcpSent = true;
                }
                catch (SocketException)
                {
                    // Not listening yet.
                }
            }

            // UDP cannot tell whether anyone listens: resend until it shows up.
            await udp.SendToAsync(Probe("udp"), SocketFlags.None, new IPEndPoint(IPAddress.Loopback, UdpPort), cancellationToken);
            var seen = ReadAll().Where(m => m.Raw.Contains(token, StringComparison.Ordinal)).Select(m => m.Raw).ToList();
            if (seen.Any(r => r.Contains("-unix", StringComparison.Ordinal)) && seen.Any(r => r.Contains("-tcp", StringComparison.Ordinal)) && seen.Any(r => r.Contains("-udp", StringComparison.Ordinal)))
            {
                return;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"probes seen within {timeout.TotalSeconds} s: {string.Join(", ", seen)}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private static string FindExecutable()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"]))
        {
            string candidate = Path.Combine(dir, "rsyslogd");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("rsyslogd not found: install the Debian package 'rsyslog' (apt-get install rsyslog)");
    }

    private static int FreePort(SocketType type, ProtocolType protocol)
    {
        // The kernel picks a free port; it stays free in practice until rsyslogd binds it a moment later.
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await StopAsync();
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp dir left behind is harmless.
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
