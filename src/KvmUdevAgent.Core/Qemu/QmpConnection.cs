using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// One QMP session: greeting, <c>qmp_capabilities</c>, numeric command ids, replies routed by id
/// while events interleave, per-command timeout. Commands are written with <see cref="Utf8JsonWriter"/>
/// only, so every string value is escaped by the serializer.
/// </summary>
internal sealed partial class QmpConnection : IMonitorConnection
{
    private readonly MonitorTransport _transport;
    private readonly ConcurrentDictionary<long, (string Command, TaskCompletionSource<JsonElement> Reply)> _pending = new();
    // The ids of the commands written, in the order QEMU received them, until answered: QEMU answers one
    // monitor's commands in that order (no out-of-band execution is negotiated), and a command it could
    // not parse is answered without its id, so only its place in this order says whose answer it is.
    private readonly ConcurrentQueue<long> _written = new();
    private readonly SemaphoreSlim _writeOrder = new(1, 1);
    // Ids queued in _written whose write then failed (cancelled, or the socket gone): QEMU never got
    // them, so the read loop passes over them; left there, one would stand first for good, every later
    // answer would be taken as out of order, and an answer without an id would go to it. Made at the
    // first such failure; until then the read loop looks only at _unsentCount.
    private readonly Lock _unsentLock = new();
    private HashSet<long>? _unsent;
    private int _unsentCount;
    private readonly QmpEventBuffer _events = new();
    private readonly Lock _waitersLock = new();
    private readonly List<(Func<QmpEvent, bool> Match, TaskCompletionSource<QmpEvent> Done)> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private long _nextId;
    private int _disposed;
    private bool _closed;

    private QmpConnection(MonitorTransport transport, QemuVersion version, TimeSpan commandTimeout)
    {
        _transport = transport;
        Version = version;
        CommandTimeout = commandTimeout;
    }

    public MonitorProtocol Protocol => MonitorProtocol.Qmp;

    public QemuVersion Version { get; }

    /// <summary>How long a command may take before <see cref="MonitorTimeoutException"/>.</summary>
    public TimeSpan CommandTimeout { get; }

    public Task Completion => _completion.Task;

    /// <summary>Every event QEMU sends; when nobody reads, the newest kept up to <see cref="QmpEventBuffer"/>'s bounds.</summary>
    public ChannelReader<QmpEvent> Events => _events;

    /// <summary>Events dropped because nobody read them (their count and the bytes of their lines).</summary>
    public (long Count, long Bytes) EventsDropped => (_events.Dropped, _events.DroppedBytes);

    /// <summary>Why the connection closed, if QEMU broke it (a protocol error or an I/O failure); null otherwise.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>
    /// Takes over a transport whose first line (the greeting) has been read, negotiates capabilities
    /// and starts routing. Disposes the transport on failure.
    /// </summary>
    public static async Task<QmpConnection> OpenAsync(MonitorTransport transport, byte[] greeting, TimeSpan commandTimeout, CancellationToken cancellationToken)
    {
        QmpConnection? connection = null;
        try
        {
            QemuVersion version = ParseGreeting(greeting);
            connection = new QmpConnection(transport, version, commandTimeout);
            connection._readLoop = connection.ReadLoopAsync();
            await connection.ExecuteAsync(QmpCommands.Capabilities, null, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await transport.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Whether <paramref name="line"/> is a QMP event: a JSON object with an <c>event</c> member.</summary>
    internal static bool IsEvent(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("event", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    internal static QemuVersion ParseGreeting(ReadOnlySpan<byte> greeting)
    {
        try
        {
            var reader = new Utf8JsonReader(greeting);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            JsonElement qmp = document.RootElement.GetProperty("QMP");
            JsonElement version = qmp.GetProperty("version");
            JsonElement qemu = version.GetProperty("qemu");
            string? package = version.TryGetProperty("package", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            return new QemuVersion(qemu.GetProperty("major").GetInt32(), qemu.GetProperty("minor").GetInt32(), qemu.GetProperty("micro").GetInt32(), package);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new MonitorProtocolException("The QMP greeting is not the expected {\"QMP\": {\"version\": ...}} object.", e);
        }
    }

    /// <summary>
    /// Sends one command and returns its <c>return</c> value (cloned). <paramref name="writeArguments"/>
    /// writes the members of the <c>arguments</c> object; null sends none.
    /// </summary>
    /// <exception cref="QmpException">QEMU answered with an error.</exception>
    /// <exception cref="MonitorTimeoutException">No answer within <see cref="CommandTimeout"/>.</exception>
    /// <exception cref="MonitorDisconnectedException">The connection closed.</exception>
    public Task<JsonElement> ExecuteAsync(string command, Action<Utf8JsonWriter>? writeArguments, CancellationToken cancellationToken) =>
        ExecuteAsync(command, writeArguments, CommandTimeout, cancellationToken);

    /// <summary>As <see cref="ExecuteAsync(string, Action{Utf8JsonWriter}?, CancellationToken)"/>, with this command's own timeout.</summary>
    public Task<JsonElement> ExecuteAsync(string command, Action<Utf8JsonWriter>? writeArguments, TimeSpan timeout, CancellationToken cancellationToken) =>
        ExecuteAsync(command, writeArguments, timeout, null, cancellationToken);

    /// <summary>As <see cref="ExecuteAsync(string, Action{Utf8JsonWriter}?, CancellationToken)"/>, sending <paramref name="descriptor"/> with the command (SCM_RIGHTS; <c>add-fd</c>, <c>getfd</c>).</summary>
    public Task<JsonElement> ExecuteWithDescriptorAsync(string command, Action<Utf8JsonWriter>? writeArguments, System.Runtime.InteropServices.SafeHandle descriptor, CancellationToken cancellationToken) =>
        ExecuteAsync(command, writeArguments, CommandTimeout, descriptor, cancellationToken);

    /// <summary>True when descriptors can be passed: the monitor is a unix socket.</summary>
    public bool CanPassDescriptors => _transport.UnixSocket is not null;

    /// <summary>The pid of the process behind a unix-socket monitor (SO_PEERCRED); null over TCP.</summary>
    public int? PeerPid => _transport.UnixSocket is { } socket ? MonitorPeer.ReadPid(socket) : null;

    private async Task<JsonElement> ExecuteAsync(string command, Action<Utf8JsonWriter>? writeArguments, TimeSpan timeout, System.Runtime.InteropServices.SafeHandle? descriptor, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_closed)
        {
            throw new MonitorDisconnectedException("The QMP connection is closed.");
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        (long id, TaskCompletionSource<JsonElement> reply) = Register(buffer, command, writeArguments);
        try
        {
            await WriteAsync(buffer, [id], command, descriptor, cancellationToken).ConfigureAwait(false);
            return await AwaitReplyAsync(command, reply, timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Sends <paramref name="commands"/> in one write, in this order, and returns a task per command
    /// for its answer (with <see cref="CommandTimeout"/>). QEMU runs one monitor's commands one after
    /// the other in the order received, so a command may rely on the ones before it (a
    /// <c>device_add</c> on the node of a <c>blockdev-add</c>) while only one round trip is paid.
    /// Each answer must be awaited: a failure of an earlier command does not stop the later ones.
    /// </summary>
    /// <exception cref="MonitorDisconnectedException">The connection closed before the commands were written.</exception>
    public async Task<Task<JsonElement>[]> SendInOrderAsync(IReadOnlyList<(string Command, Action<Utf8JsonWriter>? WriteArguments)> commands, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_closed)
        {
            throw new MonitorDisconnectedException("The QMP connection is closed.");
        }

        var buffer = new ArrayBufferWriter<byte>(256 * commands.Count);
        var sent = new (long Id, TaskCompletionSource<JsonElement> Reply)[commands.Count];
        var ids = new long[commands.Count];
        for (int i = 0; i < commands.Count; i++)
        {
            sent[i] = Register(buffer, commands[i].Command, commands[i].WriteArguments);
            ids[i] = sent[i].Id;
        }

        try
        {
            await WriteAsync(buffer, ids, commands[0].Command, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach ((long id, _) in sent)
            {
                _pending.TryRemove(id, out _);
            }

            throw;
        }

        // Only the last answer is waited for as such: QEMU answers one monitor's commands in order, so
        // once it is in, so are the others, read by then with nobody waiting on them. One wake-up for
        // the batch instead of one per answer, none while QEMU works on the later commands (issue 15).
        var answers = new Task<JsonElement>[commands.Count];
        int last = commands.Count - 1;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        answers[last] = AnswerAsync(sent[last].Id, commands[last].Command, sent[last].Reply, CommandTimeout, cancellationToken);
        for (int i = 0; i < last; i++)
        {
            answers[i] = AnswerAfterAsync(answers[last], start, sent[i].Id, commands[i].Command, sent[i].Reply, cancellationToken);
        }

        return answers;
    }

    /// <summary>An earlier command's answer of a batch, looked at once the batch's last answer is in (or failed).</summary>
    private async Task<JsonElement> AnswerAfterAsync(Task<JsonElement> last, long start, long id, string command, TaskCompletionSource<JsonElement> reply, CancellationToken cancellationToken)
    {
        await ((Task)last).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        TimeSpan left = CommandTimeout - System.Diagnostics.Stopwatch.GetElapsedTime(start);
        return await AnswerAsync(id, command, reply, left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
    }

    private async Task<JsonElement> AnswerAsync(long id, string command, TaskCompletionSource<JsonElement> reply, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await AwaitReplyAsync(command, reply, timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Allocates an id, registers the reply and appends the command's line to <paramref name="buffer"/>.</summary>
    private (long Id, TaskCompletionSource<JsonElement> Reply) Register(ArrayBufferWriter<byte> buffer, string command, Action<Utf8JsonWriter>? writeArguments)
    {
        long id = Interlocked.Increment(ref _nextId);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("execute", command);
            if (writeArguments is not null)
            {
                writer.WriteStartObject("arguments");
                writeArguments(writer);
                writer.WriteEndObject();
            }

            writer.WriteNumber("id", id);
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = (command, reply);
        return (id, reply);
    }

    private async Task WriteAsync(ArrayBufferWriter<byte> buffer, long[] ids, string command, System.Runtime.InteropServices.SafeHandle? descriptor, CancellationToken cancellationToken)
    {
        if (_closed)
        {
            throw new MonitorDisconnectedException("The QMP connection is closed.");
        }

        await _writeOrder.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool sent = false;
        try
        {
            foreach (long id in ids)
            {
                _written.Enqueue(id);
            }

            if (descriptor is null)
            {
                await _transport.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _transport.WriteWithDescriptorAsync(buffer.WrittenMemory, descriptor, cancellationToken).ConfigureAwait(false);
            }

            sent = true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            throw new MonitorDisconnectedException("The QMP connection closed while sending " + command + ".", e);
        }
        finally
        {
            if (!sent)
            {
                // Before the next write may start: until then no answer can come for a command behind these.
                MarkUnsent(ids);
            }

            _writeOrder.Release();
        }
    }

    private void MarkUnsent(long[] ids)
    {
        lock (_unsentLock)
        {
            _unsent ??= [];
            foreach (long id in ids)
            {
                _unsent.Add(id);
            }

            Volatile.Write(ref _unsentCount, _unsent.Count);
        }
    }

    /// <summary>Read loop only, after a write failed: takes the commands never sent off the front of the written order.</summary>
    private void PassOverUnsent()
    {
        while (_written.TryPeek(out long id) && ForgetUnsent(id))
        {
            _written.TryDequeue(out _);
        }
    }

    private bool ForgetUnsent(long id)
    {
        lock (_unsentLock)
        {
            if (_unsent is null || !_unsent.Remove(id))
            {
                return false;
            }

            Volatile.Write(ref _unsentCount, _unsent.Count);
            return true;
        }
    }

    private static async Task<JsonElement> AwaitReplyAsync(string command, TaskCompletionSource<JsonElement> reply, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await reply.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new MonitorTimeoutException("QEMU did not answer " + command + " within " + timeout.TotalMilliseconds + " ms.", e);
        }
    }

    private async Task ReadLoopAsync()
    {
        await Task.Yield();
        Exception? failure = null;
        try
        {
            while (true)
            {
                byte[]? line = await _transport.ReadLineAsync(_stop.Token).ConfigureAwait(false);
                if (line is null)
                {
                    break;
                }

                if (line.AsSpan().Trim(" \t\r"u8).IsEmpty)
                {
                    continue;
                }

                Dispatch(line);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or MonitorProtocolException or System.Net.Sockets.SocketException)
        {
            failure = e;
        }
        finally
        {
            Close(failure);
        }
    }

    private void Dispatch(byte[] line)
    {
        JsonElement root;
        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new MonitorProtocolException("QEMU sent a line that is not JSON.", e);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (root.TryGetProperty("event", out JsonElement eventName) && eventName.ValueKind == JsonValueKind.String)
        {
            DispatchEvent(eventName.GetString()!, root, line.Length);
            return;
        }

        if (Volatile.Read(ref _unsentCount) != 0)
        {
            PassOverUnsent();
        }

        // Replies carry the id we sent, except QEMU's answer to a command it could not parse at all
        // ("JSON parse error, \\uFFFE is not a valid Unicode character"): that one is the oldest command
        // written and not yet answered, which fails with QEMU's error instead of waiting out its timeout.
        long id;
        if (!root.TryGetProperty("id", out JsonElement idElement))
        {
            if (!root.TryGetProperty("error", out _) || !_written.TryDequeue(out id))
            {
                return;
            }
        }
        else if (!idElement.TryGetInt64(out id))
        {
            return;
        }
        else if (_written.TryPeek(out long oldest) && oldest == id)
        {
            _written.TryDequeue(out _);
        }

        if (!_pending.TryGetValue(id, out (string Command, TaskCompletionSource<JsonElement> Reply) pending))
        {
            return;
        }

        if (root.TryGetProperty("return", out JsonElement result))
        {
            pending.Reply.TrySetResult(result);
        }
        else if (root.TryGetProperty("error", out JsonElement error))
        {
            string errorClass = error.TryGetProperty("class", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : QmpErrorClasses.GenericError;
            string description = error.TryGetProperty("desc", out JsonElement de) && de.ValueKind == JsonValueKind.String ? de.GetString()! : "";
            pending.Reply.TrySetException(new QmpException(errorClass, description, pending.Command));
        }
    }

    private void Close(Exception? failure)
    {
        List<TaskCompletionSource<QmpEvent>> waiters;
        lock (_waitersLock)
        {
            Failure ??= failure;
            _closed = true;
            waiters = [.. _waiters.Select(w => w.Done)];
            _waiters.Clear();
        }

        var disconnected = new MonitorDisconnectedException("The QMP connection closed.", failure);
        foreach (TaskCompletionSource<QmpEvent> waiter in waiters)
        {
            waiter.TrySetException(disconnected);
        }

        foreach ((string _, TaskCompletionSource<JsonElement> reply) in _pending.Values)
        {
            reply.TrySetException(disconnected);
        }

        _events.Complete();
        _completion.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Close(null);
        _stop.Dispose();
    }
}
