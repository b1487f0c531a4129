using System.Globalization;
using System.Text;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// One session on QEMU's human monitor (<c>-monitor ...</c>), for setups that have no QMP socket.
/// One command at a time: send a line, read up to the next <c>(qemu) </c> prompt, strip the echo
/// (<see cref="HmpOutput"/>). A command that times out leaves the session out of step with its
/// prompts, so the connection is closed and the owner reconnects.
/// </summary>
internal sealed partial class HmpConnection : IMonitorConnection
{
    private readonly MonitorTransport _transport;
    private readonly SemaphoreSlim _commandLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _currentLock = new();
    private TaskCompletionSource<byte[]>? _current;
    private Task _readLoop = Task.CompletedTask;
    private int _disposed;
    private volatile bool _closed;

    private HmpConnection(MonitorTransport transport, QemuVersion version, TimeSpan commandTimeout)
    {
        _transport = transport;
        Version = version;
        CommandTimeout = commandTimeout;
    }

    public MonitorProtocol Protocol => MonitorProtocol.Hmp;

    public QemuVersion Version { get; }

    public TimeSpan CommandTimeout { get; }

    public Task Completion => _completion.Task;

    public int? PeerPid => _transport.UnixSocket is { } socket ? MonitorPeer.ReadPid(socket) : null;

    /// <summary>Takes over a transport whose buffered input holds the banner and first prompt.</summary>
    public static async Task<HmpConnection> OpenAsync(MonitorTransport transport, TimeSpan commandTimeout, CancellationToken cancellationToken)
    {
        try
        {
            while (!transport.Buffered.EndsWith(HmpOutput.Prompt))
            {
                if (!await transport.FillAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new MonitorDisconnectedException("The HMP monitor closed before its first prompt.");
                }
            }

            QemuVersion version = ParseBanner(transport.Buffered);
            transport.Consume(transport.Buffered.Length);
            var connection = new HmpConnection(transport, version, commandTimeout);
            connection._readLoop = connection.ReadLoopAsync();
            return connection;
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads the version from <c>QEMU 7.2.22 monitor - type 'help' for more information</c>.</summary>
    internal static QemuVersion ParseBanner(ReadOnlySpan<byte> banner)
    {
        string text = HmpOutput.StripEscapes(banner).TrimStart();
        const string prefix = "QEMU ";
        int end = text.IndexOf(" monitor", StringComparison.Ordinal);
        if (!text.StartsWith(prefix, StringComparison.Ordinal) || end < 0)
        {
            throw new MonitorProtocolException("The HMP banner is not the expected \"QEMU x.y.z monitor - type 'help' ...\".");
        }

        string[] parts = text[prefix.Length..end].Split('.');
        int Part(int i) => i < parts.Length && int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : 0;
        return new QemuVersion(Part(0), Part(1), Part(2), null);
    }

    /// <summary>Runs one command line and returns its output lines (echo and escapes removed).</summary>
    public async Task<IReadOnlyList<string>> ExecuteAsync(HmpLine line, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        byte[] bytes = line.ToBytes();
        await _commandLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var answer = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_currentLock)
            {
                if (_closed)
                {
                    throw new MonitorDisconnectedException("The HMP connection is closed.");
                }

                _current = answer;
            }

            bool completed = false;
            try
            {
                await _transport.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                byte[] raw = await answer.Task.WaitAsync(CommandTimeout, cancellationToken).ConfigureAwait(false);
                completed = true;
                return HmpOutput.Parse(raw);
            }
            catch (TimeoutException e)
            {
                throw new MonitorTimeoutException("QEMU did not answer the HMP command within " + CommandTimeout.TotalMilliseconds + " ms.", e);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                throw new MonitorDisconnectedException("The HMP connection closed.", e);
            }
            finally
            {
                if (!completed)
                {
                    // The answer may still come and would be taken for the next command's.
                    await CloseTransportAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _commandLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        await Task.Yield();
        try
        {
            while (await _transport.FillAsync(_stop.Token).ConfigureAwait(false))
            {
                if (!_transport.Buffered.EndsWith(HmpOutput.Prompt))
                {
                    continue;
                }

                byte[] answer = _transport.Buffered.ToArray();
                _transport.Consume(answer.Length);
                TaskCompletionSource<byte[]>? current;
                lock (_currentLock)
                {
                    current = _current;
                    _current = null;
                }

                current?.TrySetResult(answer);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or MonitorProtocolException or System.Net.Sockets.SocketException)
        {
        }
        finally
        {
            TaskCompletionSource<byte[]>? current;
            lock (_currentLock)
            {
                _closed = true;
                current = _current;
                _current = null;
            }

            current?.TrySetException(new MonitorDisconnectedException("The HMP connection closed."));
            _completion.TrySetResult();
        }
    }

    private async Task CloseTransportAsync()
    {
        _closed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Turns the output of a command that prints nothing on success into an error, if there is any besides warnings.</summary>
    private static void ThrowIfAnyOutput(IReadOnlyList<string> lines, string command, string? notFoundId)
    {
        // QEMU's warn_report() lines ("warning: ...") go to the monitor too, and do not mean failure.
        if (lines.All(line => line.StartsWith("warning: ", StringComparison.Ordinal)))
        {
            return;
        }

        throw ToError(lines, command, notFoundId);
    }

    private static QmpException ToError(IReadOnlyList<string> lines, string command, string? notFoundId)
    {
        var description = new StringBuilder();
        foreach (string line in lines)
        {
            if (description.Length > 0)
            {
                description.Append(' ');
            }

            description.Append(line.StartsWith("Error: ", StringComparison.Ordinal) ? line["Error: ".Length..] : line);
        }

        string text = description.ToString();
        // HMP has no error classes. The one answer we must tell apart is "not found" for an id we
        // made ourselves (validated charset), so comparing against the exact text QEMU prints is safe.
        string errorClass = notFoundId is not null && text == "Device '" + notFoundId + "' not found"
            ? QmpErrorClasses.DeviceNotFound
            : QmpErrorClasses.GenericError;
        return new QmpException(errorClass, text, command);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await CloseTransportAsync().ConfigureAwait(false);
        await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _commandLock.Dispose();
    }
}
