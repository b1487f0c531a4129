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
    private TaskCompletionSource<MonitorCommands> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
    }

    public string Name { get; }

    public MonitorEndpoint Endpoint { get; }

    /// <summary>As configured; <see cref="MonitorProtocol.Auto"/> detects.</summary>
    public MonitorProtocol ConfiguredProtocol { get; }

    public bool IsConnected => _current is not null;

    /// <summary>The protocol of the current connection; null while disconnected.</summary>
    public MonitorProtocol? Protocol => _current?.Connection.Protocol;

    public QemuVersion? Version => _current?.Connection.Version;

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
            _loop = RunAsync(_stop.Token);
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
            var commands = new MonitorCommands(connection, _options.DetachTimeout);
            _current = commands;
            Interlocked.Increment(ref _connectCount);
            Log.MonitorConnected(_logger, Name, Endpoint, connection.Protocol, connection.Version);
            await RunCameBackHandlersAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Read(ref _connected).TrySetResult(commands);
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
                Volatile.Write(ref _connected, new TaskCompletionSource<MonitorCommands>(TaskCreationOptions.RunContinuationsAsynchronously));
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

    private MonitorCommands Current => _current ?? throw new MonitorDisconnectedException("The monitor of VM '" + Name + "' (" + Endpoint + ") is not connected.");

    public Task<AttachResult> AttachUsbHostAsync(UsbHostDevice device, CancellationToken cancellationToken) => Current.AttachUsbHostAsync(device, cancellationToken);

    public Task<AttachResult> AttachBlockAsync(BlockAttachRequest request, CancellationToken cancellationToken) => Current.AttachBlockAsync(request, cancellationToken);

    public Task<AttachResult> AttachAsync(AttachRequest request, CancellationToken cancellationToken) => Current.AttachAsync(request, cancellationToken);

    public Task<DetachResult> DetachAsync(string id, CancellationToken cancellationToken) => Current.DetachAsync(id, cancellationToken);

    public Task<AgentDeviceList> ListAgentDevicesAsync(CancellationToken cancellationToken) => Current.ListAgentDevicesAsync(cancellationToken);

    public Task<QemuVersion> QueryVersionAsync(CancellationToken cancellationToken) => Current.QueryVersionAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
