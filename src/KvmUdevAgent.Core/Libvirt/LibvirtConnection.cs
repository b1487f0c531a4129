using System.Collections.Concurrent;
using System.Threading.Channels;
using KvmUdevAgent.Core.Libvirt.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Libvirt;

/// <summary>
/// One connection to libvirtd (one URI), shared by the domains configured on it. Connects in the
/// background and again, with capped exponential backoff, whenever libvirt reports it closed
/// (<c>virConnectRegisterCloseCallback</c>: libvirtd stopped, keepalive lost). After every
/// connect it runs each domain's "came back" handler (the reconcile), and it runs a domain's
/// handler again when libvirt says that domain started or resumed. Events arrive on libvirt's
/// event-loop thread and are handled here, on a task of our own.
/// </summary>
internal sealed partial class LibvirtConnection : IAsyncDisposable
{
    private readonly LibvirtOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<LibvirtEvent> _events = Channel.CreateUnbounded<LibvirtEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, Func<CancellationToken, Task>> _cameBack = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Domain, string Alias), TaskCompletionSource<bool>> _removals = new();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile ConnectHandle? _current;
    private Task _loop = Task.CompletedTask;
    private Task _reader = Task.CompletedTask;
    private int _started;
    private int _disposed;
    private int _connectCount;

    public LibvirtConnection(string uri, LibvirtOptions? options = null, ILogger? logger = null)
    {
        Uri = uri;
        _options = options ?? new LibvirtOptions();
        _logger = logger ?? NullLogger.Instance;
    }

    public string Uri { get; }

    public LibvirtOptions Options => _options;

    public bool IsConnected => _current is not null;

    /// <summary>How many times a connection was established.</summary>
    public int ConnectCount => Volatile.Read(ref _connectCount);

    /// <summary>The last reason connecting failed; null once connected.</summary>
    public string? LastError { get; private set; }

    /// <summary>Sets <paramref name="domain"/>'s handler, run after each connect and when the domain starts or resumes.</summary>
    public void OnCameBack(string domain, Func<CancellationToken, Task> handler) => _cameBack[domain] = handler;

    /// <summary>
    /// Loads libvirt (throws <see cref="LibvirtUnavailableException"/> naming the package when it is
    /// missing) and starts connecting in the background; idempotent.
    /// </summary>
    public void Start()
    {
        LibvirtEventLoop.EnsureStarted();
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _reader = ReadEventsAsync(_stop.Token);
            _loop = RunAsync(_stop.Token);
        }
    }

    /// <summary>Waits until connected and the "came back" handlers of that connect have run.</summary>
    public Task WaitConnectedAsync(CancellationToken cancellationToken) => Volatile.Read(ref _connected).Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Runs <paramref name="call"/> with the current connection on a pool thread (libvirt calls
    /// block, and libvirt's last error is per thread, so the call reads its own error there).
    /// </summary>
    public Task<T> CallAsync<T>(Func<ConnectHandle, T> call, CancellationToken cancellationToken)
    {
        ConnectHandle handle = _current ?? throw new LibvirtDisconnectedException($"libvirtd at {Uri} is not connected ({LastError ?? "connecting"}); the agent retries and reconciles when it is back");
        return Task.Run(() => call(handle), cancellationToken);
    }

    /// <summary>
    /// A waiter completed by the device-removed (true) or removal-failed (false) event of <paramref name="alias"/>.
    /// <paramref name="underWay"/> is true when an unplug of it was already asked for on this connection and
    /// its event has not come: that waiter is returned, and the unplug must not be asked for again.
    /// </summary>
    public TaskCompletionSource<bool> ExpectRemoval(string domain, string alias, out bool underWay)
    {
        var created = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<bool> waiter = _removals.GetOrAdd((domain, alias), created);
        underWay = !ReferenceEquals(waiter, created);
        return waiter;
    }

    public void ForgetRemoval(string domain, string alias, TaskCompletionSource<bool> waiter) =>
        _removals.TryRemove(new KeyValuePair<(string, string), TaskCompletionSource<bool>>((domain, alias), waiter));

    /// <summary>Drops every removal expected in <paramref name="domain"/> (its QEMU stopped or started afresh).</summary>
    private void ForgetRemovals(string domain)
    {
        foreach (KeyValuePair<(string Domain, string Alias), TaskCompletionSource<bool>> removal in _removals)
        {
            if (removal.Key.Domain == domain)
            {
                _removals.TryRemove(removal);
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        TimeSpan delay = _options.InitialBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            Registration registration;
            try
            {
                registration = await Task.Run(Open, cancellationToken).ConfigureAwait(false);
            }
            catch (LibvirtException e)
            {
                LastError = e.Message;
                Log.ConnectFailed(_logger, Uri, e.Message, delay);
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
            catch (OperationCanceledException)
            {
                return;
            }

            delay = _options.InitialBackoff;
            LastError = null;
            _current = registration.Handle;
            Interlocked.Increment(ref _connectCount);
            Log.Connected(_logger, Uri);
            foreach ((string domain, Func<CancellationToken, Task> handler) in _cameBack)
            {
                await RunHandlerAsync(domain, handler, cancellationToken).ConfigureAwait(false);
            }

            Volatile.Read(ref _connected).TrySetResult();
            try
            {
                await Volatile.Read(ref _closed).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _current = null;
                // A removal event may be lost with the connection: what was under way is asked for
                // again after it (the live XML shows whether it is still there).
                _removals.Clear();
                Volatile.Write(ref _connected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                Volatile.Write(ref _closed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                await Task.Run(registration.Close, CancellationToken.None).ConfigureAwait(false);
            }

            if (!cancellationToken.IsCancellationRequested)
            {
                LastError = "libvirtd closed the connection";
                Log.Disconnected(_logger, Uri);
            }
        }
    }

    private async Task RunHandlerAsync(string domain, Func<CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        try
        {
            await handler(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Log.CameBackHandlerFailed(_logger, domain, Uri, e);
        }
    }

    private async Task ReadEventsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (LibvirtEvent e in _events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Dispatch(e, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Dispatch(LibvirtEvent e, CancellationToken cancellationToken)
    {
        switch (e.Kind)
        {
            case LibvirtEventKind.Closed:
                Volatile.Read(ref _closed).TrySetResult();
                break;
            case LibvirtEventKind.DeviceRemoved or LibvirtEventKind.DeviceRemovalFailed when e.Domain is not null && e.Alias is not null:
                if (_removals.TryRemove((e.Domain, e.Alias), out TaskCompletionSource<bool>? waiter))
                {
                    waiter.TrySetResult(e.Kind == LibvirtEventKind.DeviceRemoved);
                }

                break;
            case LibvirtEventKind.Lifecycle when e.Code is LibvirtEvent.Stopped && e.Domain is not null:
                ForgetRemovals(e.Domain);
                break;
            case LibvirtEventKind.Lifecycle when e.Code is LibvirtEvent.Started or LibvirtEvent.Resumed && e.Domain is not null:
                if (e.Code == LibvirtEvent.Started)
                {
                    // A new QEMU: nothing of the old one's is being unplugged.
                    ForgetRemovals(e.Domain);
                }

                if (_cameBack.TryGetValue(e.Domain, out Func<CancellationToken, Task>? handler))
                {
                    Log.DomainStarted(_logger, e.Domain, Uri);

                    // Not awaited: the reconcile's detaches wait for device events read by this loop.
                    _ = RunHandlerAsync(e.Domain, handler, cancellationToken);
                }

                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _events.Writer.TryComplete();
        await _reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
