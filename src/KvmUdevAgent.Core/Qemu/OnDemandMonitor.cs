using System.Net.Sockets;
using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A VM's monitor reached per action and per probe (<c>connection: on-demand</c>): connect, run the
/// commands, disconnect at once, so a person or Proxmox's tools can use the same monitor (QEMU
/// serves one client per socket). A monitor another client holds is retried with a short backoff
/// for <see cref="VmMonitorOptions.BusyTimeout"/>, then the action fails and the next probe
/// reconciles. The agent's own sessions to one VM run one at a time.
/// </summary>
internal sealed partial class OnDemandMonitor : IVmMonitor, IDisposable
{
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan s_maxRetry = TimeSpan.FromMilliseconds(200);

    private readonly string _name;
    private readonly MonitorEndpoint _endpoint;
    private readonly MonitorProtocol _protocol;
    private readonly VmMonitorOptions _options;
    private readonly ILogger _logger;
    private readonly Func<MonitorCommands, CancellationToken, Task<string?>> _attachRefusal;
    private readonly SemaphoreSlim _session = new(1, 1);
    private readonly Lock _expectedLock = new();

    // The kua- devices QEMU held at the last probe, changed by the agent's own attaches and
    // detaches since: a probe that finds anything else (a restarted QEMU has none) reconciles.
    private HashSet<string>? _expected;
    private volatile bool _dirty;
    private volatile SessionInfo? _last;

    // attachRefusal: the VM's attach gate, asked on each attach session's own connection before
    // anything is attached (a non-null answer refuses).
    public OnDemandMonitor(string name, MonitorEndpoint endpoint, MonitorProtocol protocol, VmMonitorOptions options, ILogger logger, Func<MonitorCommands, CancellationToken, Task<string?>> attachRefusal)
    {
        _attachRefusal = attachRefusal;
        _name = name;
        _endpoint = endpoint;
        _protocol = protocol;
        _options = options;
        _logger = logger;
    }

    /// <summary>True when the last session (probe or action) reached QEMU.</summary>
    public bool IsReachable => _last is not null;

    /// <summary>Protocol and version seen by the last session that reached QEMU; null while unreachable.</summary>
    public MonitorProtocol? Protocol => _last?.Protocol;

    public QemuVersion? Version => _last?.Version;

    private sealed record SessionInfo(MonitorProtocol Protocol, QemuVersion Version, int? Pid);

    private sealed record ProbeResult(int? Pid, HashSet<string> Ids);

    /// <summary>Runs <paramref name="work"/> on a fresh connection, closed as soon as it returns.</summary>
    private async Task<T> WithSessionAsync<T>(Func<MonitorCommands, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        await _session.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using IMonitorConnection connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            _last = new SessionInfo(connection.Protocol, connection.Version, connection.PeerPid);
            var commands = new MonitorCommands(connection, _options.DetachTimeout) { PassFds = _options.PassFds };
            return await work(commands, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MonitorException or IOException)
        {
            // Whatever was asked may be half done or not done: the next probe reconciles.
            _dirty = true;
            if (e is MonitorDisconnectedException)
            {
                _last = null;
            }

            throw;
        }
        finally
        {
            _session.Release();
        }
    }

    private async Task<IMonitorConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + _options.BusyTimeout;
        TimeSpan delay = s_firstRetry;
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            string busy;
            try
            {
                // Queued behind another client (a tcp backlog), QEMU greets when that client leaves:
                // wait for the greeting as long as the budget allows.
                return await MonitorConnector.ConnectAsync(_endpoint, _protocol, _options.CommandTimeout, left > TimeSpan.Zero ? left : s_firstRetry, _options.WrapStream, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.HostNotFound || e.SocketErrorCode == SocketError.AddressFamilyNotSupported)
            {
                throw new MonitorDisconnectedException("The monitor of VM '" + _name + "' (" + _endpoint + ") does not answer (" + e.Message + "); is the VM running? The next probe retries.", e);
            }
            catch (SocketException e)
            {
                // A unix socket whose backlog is full answers EAGAIN at once (design §7).
                busy = e.Message;
            }
            catch (MonitorTimeoutException e)
            {
                busy = e.Message;
            }
            catch (MonitorProtocolException)
            {
                throw;
            }
            catch (MonitorDisconnectedException e)
            {
                busy = e.Message;
            }

            if (DateTime.UtcNow + delay >= deadline)
            {
                throw new MonitorBusyException("The monitor of VM '" + _name + "' (" + _endpoint + ") stayed busy for " + _options.BusyTimeout.TotalSeconds + " s (" + busy + "): another client holds it, and QEMU serves one client per monitor. The next probe retries.");
            }

            Log.OnDemandMonitorBusy(_logger, _name, _endpoint, busy, delay);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, s_maxRetry.Ticks));
        }
    }

    private void Expect(string id, bool present)
    {
        lock (_expectedLock)
        {
            if (present)
            {
                _expected?.Add(id);
            }
            else
            {
                _expected?.Remove(id);
            }
        }
    }

    public async Task<AttachResult> AttachAsync(AttachRequest request, CancellationToken cancellationToken)
    {
        AttachResult result = await WithSessionAsync(
            async (c, ct) => await _attachRefusal(c, ct).ConfigureAwait(false) is { } refusal
                ? throw new VmNotAttachableException(refusal)
                : await c.AttachAsync(request, ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        Expect(request.Id, present: true);
        return result;
    }

    public Task<AttachResult> AttachUsbHostAsync(UsbHostDevice device, CancellationToken cancellationToken) => AttachAsync(device, cancellationToken);

    public Task<AttachResult> AttachBlockAsync(BlockAttachRequest request, CancellationToken cancellationToken) => AttachAsync(request, cancellationToken);

    /// <summary>Why nothing may be attached into the VM now, asked on a session of its own; null when it may.</summary>
    public Task<string?> AttachRefusalAsync(CancellationToken cancellationToken) => WithSessionAsync(_attachRefusal, cancellationToken);

    public Task<AgentDeviceList> ListAgentDevicesAsync(CancellationToken cancellationToken) =>
        WithSessionAsync((c, ct) => c.ListAgentDevicesAsync(ct), cancellationToken);

    public Task<QemuVersion> QueryVersionAsync(CancellationToken cancellationToken) =>
        WithSessionAsync((c, ct) => c.QueryVersionAsync(ct), cancellationToken);

    public Task<MonitorCommandAnswer> RunCommandAsync(string vm, string command, bool hmp, CancellationToken cancellationToken) =>
        WithSessionAsync((c, ct) => c.RunCommandAsync(vm, command, hmp, ct), cancellationToken);

    public void Dispose() => _session.Dispose();
}
