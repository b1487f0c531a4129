using System.Net.Sockets;
using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A VM's monitor kept connected: connects in the background, retries with exponential backoff
/// (capped) while the VM is down, and calls the "came back" handlers every time a connection is
/// established — at start and after every QEMU restart — so a reconcile can re-apply the routes.
/// Commands fail with <see cref="MonitorDisconnectedException"/> while there is no connection.
/// </summary>
internal sealed class VmMonitor : IVmMonitor, IAsyncDisposable
{
    private readonly VmMonitorOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _handlersLock = new();
    private readonly List<Func<VmMonitor, CancellationToken, Task>> _cameBack = [];
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly OnDemandMonitor? _onDemand;
    private volatile MonitorCommands? _current;
    private Task _loop = Task.CompletedTask;
    private int _started;
    private int _disposed;
    private int _connectCount;

    public VmMonitor(string name, MonitorEndpoint endpoint, MonitorProtocol protocol, VmMonitorOptions? options = null, ILogger? logger = null)
    {
        Name = name;
        Endpoint = endpoint;
        ConfiguredProtocol = protocol;
        _options = options ?? new VmMonitorOptions();
        _logger = logger ?? NullLogger.Instance;
        Gate = new VmAttachGate(name, RunCameBackHandlersAsync, _logger);
        if (_options.Connection == VmConnection.OnDemand)
        {
            // No connection stays open, so no MIGRATION event is heard: each attach session asks
            // the gate (query-status / info status) on its own connection.
            _onDemand = new OnDemandMonitor(name, endpoint, protocol, _options, _logger, Gate.RefusalAsync);
        }
    }

    /// <summary>Whether an attach into this VM is allowed now (migration, run state); every attach and reconcile asks it.</summary>
    public VmAttachGate Gate { get; }

    public string Name { get; }

    public MonitorEndpoint Endpoint { get; }

    /// <summary>As configured; <see cref="MonitorProtocol.Auto"/> detects.</summary>
    public MonitorProtocol ConfiguredProtocol { get; }

    /// <summary>Connected (persistent), or answered its last probe or action (on-demand).</summary>
    public bool IsConnected => _onDemand?.IsReachable ?? _current is not null;

    /// <summary>Whether the monitor is held or reached per action and probe.</summary>
    public VmConnection Connection => _options.Connection;

    /// <summary>The protocol of the current connection; null while disconnected.</summary>
    public MonitorProtocol? Protocol => _onDemand is not null ? _onDemand.Protocol : _current?.Connection.Protocol;

    public QemuVersion? Version => _onDemand is not null ? _onDemand.Version : _current?.Connection.Version;

    /// <summary>How many times a connection was established (1 after the first connect).</summary>
    public int ConnectCount => Volatile.Read(ref _connectCount);

    /// <summary>
    /// Adds a handler run after each (re)connect, before <see cref="WaitConnectedAsync"/> returns;
    /// handlers run one after the other, and a failing one is logged and does not stop the others.
    /// Commands from elsewhere may run concurrently (they are idempotent).
    /// </summary>
    public void OnCameBack(Func<VmMonitor, CancellationToken, Task> handler)
    {
        lock (_handlersLock)
        {
            _cameBack.Add(handler);
        }
    }

    /// <summary>Starts connecting in the background; idempotent.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = _onDemand is null ? RunAsync(_stop.Token) : _onDemand.RunProbesAsync(OnDemandReconcileAsync, _stop.Token);
        }
    }

    /// <summary>
    /// Waits until a connection is up (the first, or the next one while disconnected) and its
    /// "came back" handlers (the reconcile) have run.
    /// </summary>
    public async Task WaitConnectedAsync(CancellationToken cancellationToken) =>
        await Volatile.Read(ref _connected).Task.WaitAsync(cancellationToken).ConfigureAwait(false);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        TimeSpan delay = _options.InitialBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            IMonitorConnection connection;
            try
            {
                connection = await MonitorConnector.ConnectAsync(Endpoint, ConfiguredProtocol, _options.CommandTimeout, _options.WrapStream, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or MonitorException)
            {
                Log.MonitorConnectFailed(_logger, Name, Endpoint, e.Message, delay);
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxBackoff.Ticks));
                continue;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            delay = _options.InitialBackoff;
            var commands = new MonitorCommands(connection, _options.DetachTimeout) { PassFds = _options.PassFds };
            _current = commands;
            Interlocked.Increment(ref _connectCount);
            Log.MonitorConnected(_logger, Name, Endpoint, connection.Protocol, connection.Version);
            await Gate.OnConnectedAsync(commands, cancellationToken).ConfigureAwait(false);
            await RunCameBackHandlersAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Read(ref _connected).TrySetResult();
            try
            {
                await connection.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _current = null;
                Volatile.Write(ref _connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            if (connection is QmpConnection qmp)
            {
                LogWhatQemuBroke(qmp);
            }

            if (!cancellationToken.IsCancellationRequested)
            {
                Log.MonitorDisconnected(_logger, Name, Endpoint);
            }
        }
    }

    /// <summary>An on-demand probe found QEMU new or changed: the same "came back" handlers (the reconcile) as a reconnect.</summary>
    private async Task OnDemandReconcileAsync(bool firstAnswer, CancellationToken cancellationToken)
    {
        if (firstAnswer)
        {
            Interlocked.Increment(ref _connectCount);
            Log.OnDemandMonitorReached(_logger, Name, Endpoint, _options.ProbeInterval, Protocol, Version);
        }

        await RunCameBackHandlersAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Read(ref _connected).TrySetResult();
    }

    private async Task RunCameBackHandlersAsync(CancellationToken cancellationToken)
    {
        Func<VmMonitor, CancellationToken, Task>[] handlers;
        lock (_handlersLock)
        {
            handlers = [.. _cameBack];
        }

        foreach (Func<VmMonitor, CancellationToken, Task> handler in handlers)
        {
            try
            {
                await handler(this, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.MonitorCameBackHandlerFailed(_logger, Name, e);
            }
        }
    }

    // Issue 17: what a hostile or broken QEMU made us drop, and why we hung up on it.
    private void LogWhatQemuBroke(QmpConnection qmp)
    {
        (long count, long bytes) = qmp.EventsDropped;
        if (count > 0)
        {
            Log.QmpEventsDropped(_logger, count, bytes, Name, QmpEventBuffer.MaxEvents, QmpEventBuffer.MaxBytes);
        }

        if (qmp.Failure is MonitorProtocolException broken)
        {
            Log.MonitorProtocolBroken(_logger, Name, Endpoint, broken.Message);
        }
    }

    private IVmMonitor Current => (IVmMonitor?)_onDemand ?? Connected;

    private MonitorCommands Connected => _current ?? throw new MonitorDisconnectedException("The monitor of VM '" + Name + "' (" + Endpoint + ") is not connected.");

    /// <summary>
    /// The persistent connection's commands; throws <see cref="MonitorDisconnectedException"/> while
    /// disconnected, and for an on-demand VM, which has no connection to hold (a migration needs one).
    /// </summary>
    internal MonitorCommands CurrentCommands => _onDemand is null
        ? Connected
        : throw new MonitorDisconnectedException("VM '" + Name + "' uses 'connection: on-demand', and a migration needs the monitor held from start to end: give the agent its own QMP socket ('connection: persistent'), or migrate from your own monitor after detaching the agent's devices.");

    /// <summary>Why nothing may be attached into this VM now (<see cref="VmAttachGate"/>); null when it may.</summary>
    public Task<string?> AttachRefusalAsync(CancellationToken cancellationToken) =>
        _onDemand is { } onDemand ? onDemand.AttachRefusalAsync(cancellationToken) : Gate.RefusalAsync(Connected, cancellationToken);

    public Task<AttachResult> AttachUsbHostAsync(UsbHostDevice device, CancellationToken cancellationToken) => AttachAsync(device, cancellationToken);

    public Task<AttachResult> AttachBlockAsync(BlockAttachRequest request, CancellationToken cancellationToken) => AttachAsync(request, cancellationToken);

    public async Task<AttachResult> AttachAsync(AttachRequest request, CancellationToken cancellationToken)
    {
        if (_onDemand is { } onDemand)
        {
            return await onDemand.AttachAsync(request, cancellationToken).ConfigureAwait(false);
        }

        MonitorCommands current = Connected;
        return await Gate.RefusalAsync(current, cancellationToken).ConfigureAwait(false) is { } refusal
            ? throw new VmNotAttachableException(refusal)
            : await current.AttachAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public Task<DetachResult> DetachAsync(string id, CancellationToken cancellationToken) => Current.DetachAsync(id, cancellationToken);

    public Task<AgentDeviceList> ListAgentDevicesAsync(CancellationToken cancellationToken) => Current.ListAgentDevicesAsync(cancellationToken);

    public Task<QemuVersion> QueryVersionAsync(CancellationToken cancellationToken) => Current.QueryVersionAsync(cancellationToken);

    public Task<MonitorCommandAnswer> RunCommandAsync(string vm, string command, bool hmp, CancellationToken cancellationToken) => Current.RunCommandAsync(vm, command, hmp, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _onDemand?.Dispose();
        _stop.Dispose();
    }
}
