using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Control;

/// <summary>
/// The daemon's end of the control socket: accepts connections, checks each peer with
/// SO_PEERCRED, reads JSON request lines, passes authorised verbs to an <see cref="IControlHandler"/>
/// and writes the answers. Bad input gets an error answer and never stops the server.
/// </summary>
public sealed partial class ControlServer : IAsyncDisposable
{
    private readonly ControlServerOptions _options;
    private readonly IControlHandler _handler;
    private readonly ILogger _logger;
    private readonly ControlAccessPolicy _policy;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly Socket _listener;
    private readonly SocketIdentity _socketIdentity;
    private Task _acceptLoop = Task.CompletedTask;
    private readonly ControlSlots _slots;
    private long _nextConnection;
    private int _disposed;

    private ControlServer(ControlServerOptions options, IControlHandler handler, ILogger logger, Socket listener, SocketIdentity socketIdentity)
    {
        _options = options;
        _handler = handler;
        _logger = logger;
        _policy = new ControlAccessPolicy(options.GroupId);
        _slots = new ControlSlots(options.MaxClients, options.MaxClientsPerUid);
        _listener = listener;
        _socketIdentity = socketIdentity;
    }

    /// <summary>The socket path the server listens on.</summary>
    public string SocketPath => _options.SocketPath;

    /// <summary>
    /// Binds the socket and starts accepting. An existing socket file is replaced only if nothing
    /// answers on it; the socket appears at its path already with its final mode (0600, or 0660
    /// and the group's gid), because it is bound under a temporary name and renamed into place.
    /// </summary>
    /// <exception cref="ControlSocketInUseException">Another daemon answers on the path, or the path is not a socket.</exception>
    /// <exception cref="IOException">The socket cannot be created (missing directory, path too long, permissions).</exception>
    public static async Task<ControlServer> StartAsync(ControlServerOptions options, IControlHandler handler, ILogger<ControlServer>? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        ILogger log = (ILogger?)logger ?? NullLogger.Instance;
        ControlServerOptions resolved = options with { SocketPath = Path.GetFullPath(options.SocketPath) };
        bool stale = await ProbeExistingAsync(resolved, cancellationToken).ConfigureAwait(false);
        (Socket listener, SocketIdentity identity) = Bind(resolved);
        ControlServer server = new(resolved, handler, log, listener, identity);
        if (stale)
        {
            Log.StaleSocketReplaced(log, resolved.SocketPath);
        }

        Log.Listening(log, resolved.SocketPath, resolved.GroupId);
        server._acceptLoop = Task.Run(server.AcceptLoopAsync, CancellationToken.None);
        return server;
    }

    /// <summary>
    /// Stops accepting, cancels the connections and waits for them, then removes the socket file
    /// (only if it is still the one this server bound). Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        RemoveSocketFileIfOurs(_options.SocketPath, _socketIdentity);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException && stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // EMFILE, ENOBUFS, ECONNABORTED: transient or per connection; the listener is fine.
                // A short pause keeps EMFILE from spinning the loop until a descriptor is free.
                Log.AcceptFailed(_logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            long id = Interlocked.Increment(ref _nextConnection);
            Task connection = ServeAsync(id, client, stopping);
            _connections[id] = connection;
            _ = connection.ContinueWith((_, state) => ((ConcurrentDictionary<long, Task>)state!).TryRemove(id, out Task? _), _connections, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(long id, Socket client, CancellationToken stopping)
    {
        ControlPeer? admitted = null;
        try
        {
            await Task.Yield();
            await using NetworkStream stream = new(client, ownsSocket: true);
            // Credentials are taken once, as the kernel recorded them at connect(2): a peer cannot
            // change them later by exec'ing something else or by passing the descriptor on.
            ControlPeer peer = PeerCredentials.Read(client);
            if (!_slots.TryTake(peer.Uid, out string refusal))
            {
                Log.Busy(_logger, peer.Uid, _slots.Taken);
                await WriteAsync(stream, ControlWireNull, ControlResult.Failure(ControlErrorCodes.Busy, refusal), stopping).ConfigureAwait(false);
                return;
            }

            admitted = peer;
            await ServeConnectionAsync(id, peer, stream, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException || (ex is OperationCanceledException && stopping.IsCancellationRequested))
        {
            // The peer hung up, a write timed out, or we are stopping: nothing to answer.
            Log.ConnectionFailed(_logger, id, ex);
        }
        finally
        {
            if (admitted is not null)
            {
                _slots.Release(admitted.Uid);
            }
        }
    }
}
