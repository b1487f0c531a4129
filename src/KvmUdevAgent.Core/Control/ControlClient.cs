using System.Buffers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KvmUdevAgent.Core.Control;

/// <summary>
/// The CLI's end of the control socket: one connection, requests sent one at a time. Every failure
/// to reach the daemon is a <see cref="ControlUnavailableException"/> with a <see cref="ControlUnavailableReason"/>.
/// </summary>
public sealed class ControlClient : IAsyncDisposable
{
    /// <summary>Longest answer accepted (a <c>devices</c> listing of a big host fits easily).</summary>
    private const int MaxResponseBytes = 16 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly ControlLineReader _reader;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _nextId;
    private int _disposed;

    private ControlClient(string socketPath, Socket socket)
    {
        SocketPath = socketPath;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new ControlLineReader(_stream, MaxResponseBytes);
    }

    /// <summary>The socket path this client is connected to.</summary>
    public string SocketPath { get; }

    /// <summary>How long one request may wait for its answer. Default 60 s (an attach waits for QEMU).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Connects to the daemon at <paramref name="socketPath"/>, waiting at most <paramref name="timeout"/>.</summary>
    /// <exception cref="ControlUnavailableException">No socket, nothing listening, permission denied, or timeout.</exception>
    public static async Task<ControlClient> ConnectAsync(string socketPath, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        Socket socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using CancellationTokenSource deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token).ConfigureAwait(false);
            return new ControlClient(socketPath, socket);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw ex.SocketErrorCode switch
            {
                SocketError.AddressNotAvailable => new ControlUnavailableException(ControlUnavailableReason.NoSocket, socketPath, $"no socket at {socketPath}", ex),
                SocketError.ConnectionRefused => new ControlUnavailableException(ControlUnavailableReason.NotListening, socketPath, $"nothing listens on {socketPath}", ex),
                SocketError.AccessDenied => new ControlUnavailableException(ControlUnavailableReason.PermissionDenied, socketPath, $"permission denied on {socketPath}", ex),
                _ => ex.NativeErrorCode == 2
                    ? new ControlUnavailableException(ControlUnavailableReason.NoSocket, socketPath, $"no socket at {socketPath}", ex)
                    : new ControlUnavailableException(ControlUnavailableReason.Broken, socketPath, $"cannot connect to {socketPath}: {ex.Message}", ex),
            };
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new ControlUnavailableException(ControlUnavailableReason.Timeout, socketPath, $"the daemon did not accept a connection on {socketPath} within {timeout.TotalSeconds:0.#} s", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="verb"/> with <paramref name="args"/> (none: an empty object) and waits for the answer.</summary>
    /// <returns>The answer; a refusal or failure is an answer with <see cref="ControlResponse.Error"/> set, not an exception.</returns>
    /// <exception cref="ControlUnavailableException">The connection broke, the answer was not the protocol, or it timed out.</exception>
    public Task<ControlResponse> SendAsync(string verb, JsonObject? args = null, CancellationToken cancellationToken = default) =>
        SendAsync(verb, args, null, RequestTimeout, cancellationToken);

    /// <summary>
    /// As <see cref="SendAsync(string, JsonObject?, CancellationToken)"/>, for a long verb: progress lines
    /// that come before the answer go to <paramref name="onProgress"/>, and the answer may take up to
    /// <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: no limit).
    /// </summary>
    public async Task<ControlResponse> SendAsync(string verb, JsonObject? args, Action<JsonElement>? onProgress, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(verb);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        using CancellationTokenSource deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            long id = ++_nextId;
            ArrayBufferWriter<byte> buffer = new(256);
            ControlWire.WriteRequest(buffer, id, verb, args);
            await _stream.WriteAsync(buffer.WrittenMemory, deadline.Token).ConfigureAwait(false);
            ReadOnlyMemory<byte> line = await _reader.ReadLineAsync(deadline.Token).ConfigureAwait(false)
                ?? throw Broken("the daemon closed the connection without answering", null);
            while (ControlWire.TryParseProgress(line.Span, out JsonElement progress))
            {
                onProgress?.Invoke(progress);
                line = await _reader.ReadLineAsync(deadline.Token).ConfigureAwait(false)
                    ?? throw Broken("the daemon closed the connection without answering", null);
            }

            if (!ControlWire.TryParseResponse(line.Span, out ControlResponse response, out string reason))
            {
                throw Broken("the daemon's answer is not understood: " + reason, null);
            }

            // The server answers a request it could not parse, or "busy", with id null.
            if (response.Id.ValueKind == JsonValueKind.Number && response.Id.TryGetInt64(out long answered) && answered != id)
            {
                throw Broken($"the daemon answered request {answered} instead of {id}", null);
            }

            return response;
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ControlUnavailableException(ControlUnavailableReason.Timeout, SocketPath, $"the daemon did not answer '{verb}' within {timeout.TotalSeconds:0.#} s", ex);
        }
        catch (Exception ex) when (ex is IOException and not ControlUnavailableException || ex is SocketException)
        {
            throw Broken("the connection to the daemon broke: " + ex.Message, ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the connection. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _gate.Dispose();
    }

    private ControlUnavailableException Broken(string message, Exception? inner) =>
        new(ControlUnavailableReason.Broken, SocketPath, message, inner);
}
