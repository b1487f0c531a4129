using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Core.Tests.Control;

[SupportedOSPlatform("linux")]
public sealed class ControlServerTests
{
    private const uint TestGroup = 64999; // a gid with no /etc/group entry: the test touches no system group
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private static readonly UnixFileMode s_mode0666 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    [Fact]
    public async Task StartAsync_NoGroup_SocketIsMode0600OwnedByRoot()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler());

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.Socket));
        Assert.Equal(dir.Socket, server.SocketPath);
        Assert.Equal(["agent.sock"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task StartAsync_Group_SocketIsMode0660WithGroup()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler(), TestGroup);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(dir.Socket));
        Assert.Equal("64999", StatField(dir.Socket, "%g"));
    }

    [Fact]
    public async Task SendAsync_RootStatus_ReturnsHandlerResult()
    {
        using ControlTestDir dir = new();
        RecordingHandler handler = new();
        await using ControlServer server = await StartAsync(dir, handler);
        await using ControlClient client = await ControlClient.ConnectAsync(dir.Socket, s_timeout);

        ControlResponse response = await client.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout);

        Assert.True(response.Ok);
        StatusReport? report = response.Result.Deserialize(ControlJsonContext.Default.StatusReport);
        Assert.Equal(RecordingHandler.Status, report);
        Assert.Equal(120, response.Result.GetProperty("counters").GetProperty("events").GetInt64());
        ControlRequest request = Assert.Single(handler.Requests);
        Assert.Equal(0u, request.Peer.Uid);
        Assert.Equal(Environment.ProcessId, request.Peer.Pid);
        Assert.Equal(JsonValueKind.Object, request.Args.ValueKind);
    }

    [Fact]
    public async Task SendAsync_HandlerSendsProgress_ClientGetsEachLineBeforeTheAnswer()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new ProgressHandler());
        await using ControlClient client = await ControlClient.ConnectAsync(dir.Socket, s_timeout);
        var seen = new List<int>();

        ControlResponse response = await client.SendAsync(ControlVerbs.Migrate, null, p => seen.Add(p.GetProperty("percent").GetInt32()), s_timeout).WaitAsync(s_timeout);

        Assert.True(response.Ok);
        Assert.Equal([10, 55], seen);
        Assert.Equal(2, response.Result.GetProperty("progress_lines").GetInt32());
        // A plain request on the same connection still reads its own answer.
        Assert.True((await client.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout)).Ok);
    }

    /// <summary>Sends two progress lines, then answers.</summary>
    private sealed class ProgressHandler : IControlHandler
    {
        public async ValueTask<ControlResult> HandleAsync(ControlRequest request, CancellationToken cancellationToken)
        {
            if (request.Verb != ControlVerbs.Migrate || request.Progress is null)
            {
                return ControlResult.Empty;
            }

            await request.Progress(JsonDocument.Parse("""{"percent":10}""").RootElement, cancellationToken);
            await request.Progress(JsonDocument.Parse("""{"percent":55}""").RootElement, cancellationToken);
            return ControlResult.Success(JsonDocument.Parse("""{"progress_lines":2}""").RootElement);
        }
    }

    [Theory]
    [InlineData(ControlVerbs.Attach)]
    [InlineData(ControlVerbs.Detach)]
    [InlineData(ControlVerbs.Reload)]
    [InlineData(ControlVerbs.Migrate)]
    public async Task SendAsync_RootMutatingVerb_ReachesHandlerWithArgs(string verb)
    {
        using ControlTestDir dir = new();
        RecordingHandler handler = new();
        await using ControlServer server = await StartAsync(dir, handler);
        await using ControlClient client = await ControlClient.ConnectAsync(dir.Socket, s_timeout);

        ControlResponse response = await client.SendAsync(verb, new JsonObject { ["device"] = "2-1.4", ["vm"] = "win\"xp\n{\"id\":9}\u0001" }).WaitAsync(s_timeout);

        Assert.True(response.Ok);
        Assert.Equal(verb, response.Result.GetProperty("done").GetString());
        // A newline in a value is escaped on the wire, so it cannot split the request line.
        Assert.Equal("win\"xp\n{\"id\":9}\u0001", Assert.Single(handler.Requests).Args.GetProperty("vm").GetString());
    }

    [Theory]
    [InlineData(ControlVerbs.Attach)]
    [InlineData(ControlVerbs.Detach)]
    [InlineData(ControlVerbs.Reload)]
    [InlineData(ControlVerbs.Migrate)]
    public async Task Serve_NonRootMutatingVerb_RefusedAsForbidden(string verb)
    {
        using ControlTestDir dir = new();
        RecordingHandler handler = new();
        // The group member case: the socket's 0660 mode lets nobody in through the test group,
        // so the refusal below comes from the SO_PEERCRED check, not from the file mode.
        await using ControlServer server = await StartAsync(dir, handler, TestGroup);

        string output = await PeerProcess.SendAsync(dir.Socket, PeerProcess.Nobody, PeerProcess.Nobody, [TestGroup], $$$"""{"id":7,"verb":"{{{verb}}}","args":{"device":"x"}}""");

        Assert.Equal(
            $$$"""{"id":7,"ok":false,"error":{"code":"forbidden","message":"'{{{verb}}}' requires root: it changes what the agent does; you are uid 65534, gid 65534; run it with sudo"}}""" + "\n",
            output);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Serve_SupplementaryGroupMember_ReadOnlyAllowedMutatingRefused()
    {
        using ControlTestDir dir = new();
        RecordingHandler handler = new();
        await using ControlServer server = await StartAsync(dir, handler, TestGroup);

        string output = await PeerProcess.SendAsync(dir.Socket, PeerProcess.Nobody, PeerProcess.Nobody, [100, TestGroup],
            """{"id":1,"verb":"status"}""", """{"id":2,"verb":"devices"}""", """{"id":"three","verb":"reload"}""");

        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("""{"id":1,"ok":true,"result":{"version":"0.1.0-test",""", lines[0], StringComparison.Ordinal);
        Assert.Equal("""{"id":2,"ok":true,"result":{"done":"devices"}}""", lines[1]);
        Assert.StartsWith("""{"id":"three","ok":false,"error":{"code":"forbidden","message":"'reload' requires root""", lines[2], StringComparison.Ordinal);
        ControlPeer peer = handler.Requests.First().Peer;
        Assert.Equal(PeerProcess.Nobody, peer.Uid);
        Assert.Equal(PeerProcess.Nobody, peer.Gid);
        Assert.Equal([100u, TestGroup], peer.Groups.Order());
    }

    [Fact]
    public async Task Serve_PrimaryGroupMember_ReadOnlyAllowed()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler(), TestGroup);

        string output = await PeerProcess.SendAsync(dir.Socket, PeerProcess.Nobody, TestGroup, [], """{"id":1,"verb":"rules"}""");

        Assert.Equal("""{"id":1,"ok":true,"result":{"done":"rules"}}""" + "\n", output);
    }

    [Fact]
    public async Task Serve_NonMemberThroughWideSocketMode_EverythingRefused()
    {
        using ControlTestDir dir = new();
        RecordingHandler handler = new();
        await using ControlServer server = await StartAsync(dir, handler, TestGroup);
        // Simulates an administrator who chmod'ed the socket 0666: the SO_PEERCRED check must
        // still refuse, because the socket mode is only the first of two gates.
        File.SetUnixFileMode(dir.Socket, s_mode0666);

        string output = await PeerProcess.SendAsync(dir.Socket, PeerProcess.Nobody, PeerProcess.Nobody, [], """{"id":1,"verb":"status"}""", """{"id":2,"verb":"attach"}""");

        Assert.Equal(
            """{"id":1,"ok":false,"error":{"code":"forbidden","message":"'status' requires root or membership in the control group (gid 64999); you are uid 65534, gid 65534"}}""" + "\n"
            + """{"id":2,"ok":false,"error":{"code":"forbidden","message":"'attach' requires root: it changes what the agent does; you are uid 65534, gid 65534; run it with sudo"}}""" + "\n",
            output);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Serve_NoGroupConfiguredNonRoot_StatusRefused()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler());
        File.SetUnixFileMode(dir.Socket, s_mode0666);

        string output = await PeerProcess.SendAsync(dir.Socket, PeerProcess.Nobody, PeerProcess.Nobody, [], """{"id":1,"verb":"status"}""");

        Assert.Equal("""{"id":1,"ok":false,"error":{"code":"forbidden","message":"'status' requires root (no control group is configured); you are uid 65534, gid 65534"}}""" + "\n", output);
    }

    [Fact]
    public async Task Serve_NonRootWithDefaultMode_CannotConnect()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler());

        InvalidOperationException error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PeerProcess.SendAsync(dir.Socket, PeerProcess.Nobody, PeerProcess.Nobody, [], """{"id":1,"verb":"status"}"""));
        Assert.Contains("Permission denied", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"id\":5,\"verb\":", "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"malformed JSON: ")]
    [InlineData("[1,2]", "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"the request must be a JSON object\"}}")]
    [InlineData("{\"id\":5}", "{\"id\":5,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"'verb' must be a string\"}}")]
    [InlineData("{\"id\":5,\"verb\":\"attach\",\"args\":[1]}", "{\"id\":5,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"'args' must be an object\"}}")]
    [InlineData("{\"id\":{},\"verb\":\"status\"}", "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"'id' must be a number or a string\"}}")]
    [InlineData("{\"id\":5,\"verb\":\"status\"} {}", "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"malformed JSON: '{' is invalid after a single JSON value")]
    [InlineData("{\"id\":5,\"verb\":\"format-disk\"}", "{\"id\":5,\"ok\":false,\"error\":{\"code\":\"unknown_verb\",\"message\":\"unknown verb 'format-disk'; expected one of: status, devices, vms, rules, reload, attach, detach, migrate\"}}")]
    public async Task Serve_MalformedRequest_AnsweredWithErrorAndConnectionKeepsWorking(string request, string expectedStart)
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler());
        using Socket socket = await ConnectRawAsync(dir.Socket);

        string[] lines = await ExchangeAsync(socket, request + "\n\n{\"id\":6,\"verb\":\"vms\"}\n", 2);

        Assert.StartsWith(expectedStart, lines[0], StringComparison.Ordinal);
        Assert.Equal("{\"id\":6,\"ok\":true,\"result\":{\"done\":\"vms\"}}", lines[1]);
    }

    [Fact]
    public async Task Serve_RequestLongerThanBound_AnsweredThenClosedAndServerStillServes()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler(), options: o => o with { MaxRequestBytes = 1024 });
        using Socket socket = await ConnectRawAsync(dir.Socket);

        string[] lines = await ExchangeAsync(socket, "{\"id\":1,\"verb\":\"status\",\"args\":{\"x\":\"" + new string('a', 5000) + "\"}}\n", 1);

        Assert.Equal("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"request_too_long\",\"message\":\"the request is longer than 1024 bytes; closing the connection\"}}", lines[0]);
        await AssertClosedAsync(socket);
        await using ControlClient client = await ControlClient.ConnectAsync(dir.Socket, s_timeout);
        Assert.True((await client.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout)).Ok);
    }

    [Fact]
    public async Task Serve_HandlerThrows_InternalErrorAndServerContinues()
    {
        using ControlTestDir dir = new();
        RecordingHandler handler = new() { Answer = r => r.Verb == ControlVerbs.Vms ? throw new InvalidOperationException("boom") : throw new ControlException(ControlErrorCodes.NotFound, "no device '2-9'") };
        await using ControlServer server = await StartAsync(dir, handler);
        await using ControlClient client = await ControlClient.ConnectAsync(dir.Socket, s_timeout);

        ControlResponse vms = await client.SendAsync(ControlVerbs.Vms).WaitAsync(s_timeout);
        ControlResponse detach = await client.SendAsync(ControlVerbs.Detach).WaitAsync(s_timeout);

        Assert.Equal(new ControlError(ControlErrorCodes.Internal, "internal error while handling 'vms': boom"), vms.Error);
        Assert.Equal(new ControlError(ControlErrorCodes.NotFound, "no device '2-9'"), detach.Error);
    }

    [Fact]
    public async Task Serve_MoreClientsThanBound_ExtraClientToldBusy()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler(), options: o => o with { MaxClients = 1 });
        await using ControlClient first = await ControlClient.ConnectAsync(dir.Socket, s_timeout);
        Assert.True((await first.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout)).Ok);

        using Socket second = await ConnectRawAsync(dir.Socket);
        string[] lines = await ExchangeAsync(second, string.Empty, 1);

        Assert.Equal("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too many clients are connected to the daemon; try again\"}}", lines[0]);
        Assert.True((await first.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout)).Ok);
    }

    [Fact]
    public async Task Serve_IdleConnection_ClosedAfterTimeout()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler(), options: o => o with { IdleTimeout = TimeSpan.FromMilliseconds(200) });
        using Socket socket = await ConnectRawAsync(dir.Socket);
        await socket.SendAsync("{\"id\":1,"u8.ToArray());

        await AssertClosedAsync(socket);
    }

    [Fact]
    public async Task Serve_BlankLinesOnly_ClosedAfterIdleTimeout()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler(), options: o => o with { IdleTimeout = TimeSpan.FromMilliseconds(500) });
        using Socket socket = await ConnectRawAsync(dir.Socket);
        Task<int> closed = socket.ReceiveAsync(new byte[16]);
        DateTime deadline = DateTime.UtcNow + s_timeout;

        try
        {
            while (!closed.IsCompleted)
            {
                Assert.True(DateTime.UtcNow < deadline, "blank lines kept the connection open");
                await socket.SendAsync("\n"u8.ToArray());
                await Task.WhenAny(closed, Task.Delay(100)).WaitAsync(s_timeout);
            }

            Assert.Equal(0, await closed);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            // Closed with a blank line of ours still unread, or closed under our write.
        }
    }

    [Fact]
    public async Task Serve_BusyConnection_ClosedAtItsLifetime()
    {
        using ControlTestDir dir = new();
        await using ControlServer server = await StartAsync(dir, new RecordingHandler(), options: o => o with { MaxLifetime = TimeSpan.FromSeconds(1) });
        using Socket socket = await ConnectRawAsync(dir.Socket);
        int answers = 0;
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the connection outlived its lifetime ({answers} answers)");
            string[] lines;
            try
            {
                lines = await ExchangeAsync(socket, "{\"id\":1,\"verb\":\"status\"}\n", 1);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
            {
                break;
            }

            if (lines.Length == 0)
            {
                break;
            }

            answers++;
        }

        Assert.True(answers > 0);
    }

    [Fact]
    public async Task StartAsync_StaleSocketFile_Replaced()
    {
        using ControlTestDir dir = new();
        CreateStaleSocket(dir.Socket);

        Assert.True(File.Exists(dir.Socket));

        await using ControlServer server = await StartAsync(dir, new RecordingHandler());
        await using ControlClient client = await ControlClient.ConnectAsync(dir.Socket, s_timeout);
        Assert.True((await client.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout)).Ok);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.Socket));
    }

    [Fact]
    public async Task StartAsync_SecondServerWhileFirstRuns_RefusedAndFirstKeepsWorking()
    {
        using ControlTestDir dir = new();
        await using ControlServer first = await StartAsync(dir, new RecordingHandler());

        ControlSocketInUseException error = await Assert.ThrowsAsync<ControlSocketInUseException>(() => StartAsync(dir, new RecordingHandler()));

        Assert.Equal($"another kvm-udev-agent is already running: it answers on {dir.Socket}. Stop it first ('systemctl stop kvm-udev-agent') or set control_socket to another path", error.Message);
        await using ControlClient client = await ControlClient.ConnectAsync(dir.Socket, s_timeout);
        Assert.True((await client.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout)).Ok);
        Assert.Equal(["agent.sock"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task StartAsync_PathIsRegularFile_RefusedAndFileKept()
    {
        using ControlTestDir dir = new();
        File.WriteAllText(dir.Socket, "precious");

        ControlSocketInUseException error = await Assert.ThrowsAsync<ControlSocketInUseException>(() => StartAsync(dir, new RecordingHandler()));

        Assert.StartsWith($"{dir.Socket} exists and is not a socket; refusing to replace it", error.Message, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(dir.Socket));
    }

    [Fact]
    public async Task DisposeAsync_RemovesSocketAndClientsSeeNoDaemon()
    {
        using ControlTestDir dir = new();
        ControlServer server = await StartAsync(dir, new RecordingHandler());
        await using ControlClient connected = await ControlClient.ConnectAsync(dir.Socket, s_timeout);

        await server.DisposeAsync().AsTask().WaitAsync(s_timeout);
        await server.DisposeAsync();

        Assert.False(File.Exists(dir.Socket));
        ControlUnavailableException broken = await Assert.ThrowsAsync<ControlUnavailableException>(() => connected.SendAsync(ControlVerbs.Status).WaitAsync(s_timeout));
        Assert.Equal(ControlUnavailableReason.Broken, broken.Reason);
        ControlUnavailableException none = await Assert.ThrowsAsync<ControlUnavailableException>(() => ControlClient.ConnectAsync(dir.Socket, s_timeout));
        Assert.Equal(ControlUnavailableReason.NoSocket, none.Reason);
    }

    [Fact]
    public async Task ConnectAsync_StaleSocket_NotListening()
    {
        using ControlTestDir dir = new();
        CreateStaleSocket(dir.Socket);

        ControlUnavailableException error = await Assert.ThrowsAsync<ControlUnavailableException>(() => ControlClient.ConnectAsync(dir.Socket, s_timeout));

        Assert.Equal(ControlUnavailableReason.NotListening, error.Reason);
    }

    /// <summary>
    /// Leaves a socket file that nothing listens on, as a daemon killed with SIGKILL does. .NET
    /// unlinks the path a socket was bound to when it is disposed, so the file is renamed first.
    /// </summary>
    private static void CreateStaleSocket(string path)
    {
        using Socket dead = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        dead.Bind(new UnixDomainSocketEndPoint(path + ".bound"));
        File.Move(path + ".bound", path);
    }

    /// <summary>The server closed: end of stream, or a reset when it closed with our unread bytes still queued.</summary>
    private static async Task AssertClosedAsync(Socket socket)
    {
        try
        {
            Assert.Equal(0, await socket.ReceiveAsync(new byte[16]).WaitAsync(s_timeout));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }

    private static Task<ControlServer> StartAsync(ControlTestDir dir, IControlHandler handler, uint? group = null, Func<ControlServerOptions, ControlServerOptions>? options = null)
    {
        ControlServerOptions o = new() { SocketPath = dir.Socket, GroupId = group };
        return ControlServer.StartAsync(options is null ? o : options(o), handler).WaitAsync(s_timeout);
    }

    private static async Task<Socket> ConnectRawAsync(string path)
    {
        Socket socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).WaitAsync(s_timeout);
        return socket;
    }

    private static async Task<string[]> ExchangeAsync(Socket socket, string send, int lines)
    {
        if (send.Length > 0)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(send)).WaitAsync(s_timeout);
        }

        StringBuilder received = new();
        byte[] buffer = new byte[4096];
        while (received.ToString().Count(c => c == '\n') < lines)
        {
            int n = await socket.ReceiveAsync(buffer).WaitAsync(s_timeout);
            if (n == 0)
            {
                break;
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        return received.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static string StatField(string path, string format)
    {
        using System.Diagnostics.Process stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", format, path]) { RedirectStandardOutput = true })!;
        string output = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return output;
    }
}
