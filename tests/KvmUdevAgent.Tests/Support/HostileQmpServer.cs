using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace KvmUdevAgent.Tests.Support;

/// <summary>
/// A hostile QEMU: a fake QMP monitor on a unix socket (the one place a fake monitor is allowed,
/// since a real QEMU will not misbehave on request). It greets and answers as QEMU 7.2 does (every
/// command succeeds; the lists it is asked for are empty), one client at a time, and lets the test write any
/// bytes it likes between the answers.
/// </summary>
internal sealed class HostileQmpServer : IAsyncDisposable
{
    private static readonly byte[] s_greeting = """{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "hostile"}, "capabilities": ["oob"]}}"""u8.ToArray();
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _lock = new();
    private readonly List<string> _commands = [];
    private readonly List<TaskCompletionSource> _closed = [];
    private readonly Task _acceptLoop;
    private NetworkStream? _current;

    private HostileQmpServer(string path)
    {
        SocketPath = path;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Connections
    {
        get
        {
            lock (_lock)
            {
                return _closed.Count;
            }
        }
    }

    public static HostileQmpServer Start(string path) => new(path);

    /// <summary>An event line of about <paramref name="bytes"/> bytes, newline included.</summary>
    public static byte[] EventLine(int bytes)
    {
        const string Head = "{\"event\": \"HOSTILE\", \"data\": {\"pad\": \"";
        const string Tail = "\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\n";
        return Encoding.ASCII.GetBytes(Head + new string('A', Math.Max(0, bytes - Head.Length - Tail.Length)) + Tail);
    }

    /// <summary>Writes to the current client; completes when the bytes are in the socket (the client may not have read them yet).</summary>
    public async Task SendAsync(byte[] bytes)
    {
        NetworkStream stream;
        lock (_lock)
        {
            stream = _current ?? throw new InvalidOperationException("no client is connected to the hostile QMP server");
        }

        await _writeLock.WaitAsync();
        try
        {
            await stream.WriteAsync(bytes);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Waits until the clients have sent <paramref name="command"/> <paramref name="count"/> times in all.</summary>
    public async Task WaitForCommandAsync(string command, int count, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (Count(command) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the client sent {command} {Count(command)} times, not {count}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until client number <paramref name="connection"/> (1-based) has closed its end.</summary>
    public async Task WaitClosedAsync(int connection, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (Connections < connection)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"client {connection} never connected");
            }

            await Task.Delay(20);
        }

        Task closed;
        lock (_lock)
        {
            closed = _closed[connection - 1].Task;
        }

        await closed.WaitAsync(deadline - DateTime.UtcNow);
    }

    private int Count(string command)
    {
        lock (_lock)
        {
            return _commands.Count(c => c == command);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stream = new NetworkStream(client, ownsSocket: true);
            lock (_lock)
            {
                _closed.Add(closed);
                _current = stream;
            }

            try
            {
                await ServeAsync(stream);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
            }
            finally
            {
                lock (_lock)
                {
                    _current = null;
                }

                await stream.DisposeAsync();
                closed.TrySetResult();
            }
        }
    }

    private async Task ServeAsync(NetworkStream stream)
    {
        await WriteAsync(stream, [.. s_greeting, (byte)'\n']);
        using var reader = new StreamReader(stream, Encoding.UTF8, false, 4096, leaveOpen: true);
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            if (line.Trim().Length == 0)
            {
                continue;
            }

            using JsonDocument request = JsonDocument.Parse(line);
            string command = request.RootElement.GetProperty("execute").GetString()!;
            lock (_lock)
            {
                _commands.Add(command);
            }

            string result = command is "qom-list" or "query-named-block-nodes" or "query-block" ? "[]" : "{}";
            string id = request.RootElement.TryGetProperty("id", out JsonElement i) ? i.GetRawText() : "null";
            await WriteAsync(stream, Encoding.ASCII.GetBytes($$"""{"return": {{result}}, "id": {{id}}}""" + "\n"));
        }
    }

    private async Task WriteAsync(NetworkStream stream, byte[] bytes)
    {
        await _writeLock.WaitAsync(_stop.Token);
        try
        {
            await stream.WriteAsync(bytes, _stop.Token);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        NetworkStream? current;
        lock (_lock)
        {
            current = _current;
        }

        if (current is not null)
        {
            await current.DisposeAsync();
        }

        await _acceptLoop;
        _stop.Dispose();
        _writeLock.Dispose();
        File.Delete(SocketPath);
    }
}
