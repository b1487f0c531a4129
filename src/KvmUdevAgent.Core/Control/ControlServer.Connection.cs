using System.Buffers;
using System.Net.Sockets;
using System.Text.Json;

namespace KvmUdevAgent.Core.Control;

public sealed partial class ControlServer
{
    private static readonly JsonElement ControlWireNull = JsonDocument.Parse("null").RootElement.Clone();

    private async Task ServeConnectionAsync(long id, ControlPeer peer, NetworkStream stream, CancellationToken stopping)
    {
        ControlLineReader reader = new(stream, _options.MaxRequestBytes);
        // A connection's life is bounded, and only a request restarts its idle timer: a blank line
        // every few seconds must not keep a slot forever (issue 17).
        using CancellationTokenSource lifetime = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        lifetime.CancelAfter(_options.MaxLifetime);
        while (true)
        {
            ReadOnlyMemory<byte>? line;
            using (CancellationTokenSource idle = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token))
            {
                idle.CancelAfter(_options.IdleTimeout);
                try
                {
                    do
                    {
                        line = await reader.ReadLineAsync(idle.Token).ConfigureAwait(false);
                    }
                    while (line is { } blank && IsBlank(blank.Span));
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (ControlLineTooLongException)
                {
                    Log.BadRequest(_logger, id, peer.Uid, "request line too long");
                    await WriteAsync(stream, ControlWireNull, ControlResult.Failure(ControlErrorCodes.RequestTooLong, $"the request is longer than {_options.MaxRequestBytes} bytes; closing the connection"), stopping).ConfigureAwait(false);
                    return;
                }
            }

            if (line is not { } request)
            {
                return;
            }

            (JsonElement requestId, ControlResult result) = await DispatchAsync(id, peer, request, stream, stopping).ConfigureAwait(false);
            await WriteAsync(stream, requestId, result, stopping).ConfigureAwait(false);
        }
    }

    private async Task<(JsonElement Id, ControlResult Result)> DispatchAsync(long connection, ControlPeer peer, ReadOnlyMemory<byte> line, NetworkStream stream, CancellationToken stopping)
    {
        if (!ControlWire.TryParseRequest(line.Span, out JsonElement id, out string verb, out JsonElement args, out string reason))
        {
            Log.BadRequest(_logger, connection, peer.Uid, reason);
            return (id, ControlResult.Failure(ControlErrorCodes.BadRequest, reason));
        }

        ValueTask progress(JsonElement value, CancellationToken cancellationToken) => WriteProgressAsync(stream, id, value, stopping);
        ControlVerbAccess access = ControlVerbs.GetAccess(verb);
        if (access == ControlVerbAccess.Unknown)
        {
            // Checked before the peer so that a typo is named as such; it reveals nothing.
            return (id, ControlResult.Failure(ControlErrorCodes.UnknownVerb, $"unknown verb '{verb}'; expected one of: status, devices, vms, rules, reload, attach, detach, migrate"));
        }

        if (_policy.Refusal(peer, verb, access) is { } refusal)
        {
            Log.PeerRefused(_logger, verb, peer.Pid, peer.Uid, peer.Gid);
            return (id, ControlResult.Failure(ControlErrorCodes.Forbidden, refusal));
        }

        try
        {
            ControlResult result = await _handler.HandleAsync(new ControlRequest { Verb = verb, Args = args, Peer = peer, Progress = progress }, stopping).ConfigureAwait(false);
            return (id, result ?? ControlResult.Empty);
        }
        catch (ControlException ex)
        {
            return (id, ControlResult.Failure(ex.Code, ex.Message));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return (id, ControlResult.Failure(ControlErrorCodes.ShuttingDown, "the daemon is shutting down"));
        }
#pragma warning disable CA1031 // A handler bug must cost one answer, never the control socket.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(_logger, verb, ex);
            return (id, ControlResult.Failure(ControlErrorCodes.Internal, $"internal error while handling '{verb}': {ex.Message}"));
        }
    }

    private Task WriteAsync(NetworkStream stream, JsonElement id, ControlResult result, CancellationToken stopping)
    {
        ArrayBufferWriter<byte> buffer = new(256);
        ControlWire.WriteResponse(buffer, id, result);
        return WriteLineAsync(stream, buffer, "answer", stopping);
    }

    private async ValueTask WriteProgressAsync(NetworkStream stream, JsonElement id, JsonElement progress, CancellationToken stopping)
    {
        ArrayBufferWriter<byte> buffer = new(256);
        ControlWire.WriteProgress(buffer, id, progress);
        await WriteLineAsync(stream, buffer, "progress", stopping).ConfigureAwait(false);
    }

    private async Task WriteLineAsync(NetworkStream stream, ArrayBufferWriter<byte> line, string what, CancellationToken stopping)
    {
        using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(_options.WriteTimeout);
        try
        {
            await stream.WriteAsync(line.WrittenMemory, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!stopping.IsCancellationRequested)
        {
            throw new IOException("the client does not read its " + what, ex);
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) =>
        line.IndexOfAnyExcept(" \t\r"u8) < 0;
}
