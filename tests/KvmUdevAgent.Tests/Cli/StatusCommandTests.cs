using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using KvmUdevAgent.Cli;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Tests.Cli;

[SupportedOSPlatform("linux")]
public sealed class StatusCommandTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private readonly string _dir;

    public StatusCommandTests()
    {
        _dir = Directory.CreateTempSubdirectory("kua-cli-").FullName;
        // Traversable by others, so the CLI can run as nobody against a socket in here.
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    private string SocketPath => Path.Combine(_dir, "agent.sock");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static StatusReport Report { get; } = new()
    {
        Version = "0.1.0-test",
        Pid = 4242,
        StartedAt = new DateTimeOffset(2026, 11, 25, 4, 0, 0, TimeSpan.Zero),
        UptimeSeconds = 93_784.9,
        Source = "udev",
        Rules = 3,
        RulesGeneration = 2,
        Counters = new StatusCounters { Events = 120, Matched = 7, Acted = 6, Failed = 1, Dropped = 2 },
        AuditDropped = 5,
        Attachments = 1,
        Mounts = 2,
        StateError = "Could not write the state file /var/lib/kvm-udev-agent/state.json: No space left on device; the previous file is kept",
    };

    [Fact]
    public async Task Status_NoDaemon_OneLineAndUnavailable()
    {
        StringWriter output = new();
        StringWriter error = new();

        int code = await StatusCommand.InvokeAsync(new StatusOptions(SocketPath, Json: false), output, error, CancellationToken.None);

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Equal($"kvm-udev-agent: the daemon is not running (no socket at {SocketPath}); start it with 'kvm-udev-agent run' or 'systemctl start kvm-udev-agent'\n", error.ToString());
        Assert.Empty(output.ToString());
    }

    [Fact]
    public async Task Status_StaleSocket_SaysNotRunning()
    {
        using (Socket dead = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // .NET unlinks the path it bound on dispose; a renamed file survives, as after SIGKILL.
            dead.Bind(new UnixDomainSocketEndPoint(SocketPath + ".bound"));
            File.Move(SocketPath + ".bound", SocketPath);
        }

        StringWriter error = new();
        int code = await StatusCommand.InvokeAsync(new StatusOptions(SocketPath, Json: false), new StringWriter(), error, CancellationToken.None);

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Equal($"kvm-udev-agent: the daemon is not running (nothing listens on {SocketPath}; it may have crashed); start it with 'kvm-udev-agent run' or 'systemctl start kvm-udev-agent'\n", error.ToString());
    }

    [Fact]
    public async Task Status_Running_PrintsGoldenHumanOutput()
    {
        await using ControlServer server = await ControlServer.StartAsync(new ControlServerOptions { SocketPath = SocketPath }, new Handler());
        StringWriter output = new();
        StringWriter error = new();

        int code = await StatusCommand.InvokeAsync(new StatusOptions(SocketPath, Json: false), output, error, CancellationToken.None).WaitAsync(s_timeout);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "cli", "status.txt")), output.ToString());
        Assert.Empty(error.ToString());
    }

    [Fact]
    public async Task Status_Json_PrintsTheSameReport()
    {
        await using ControlServer server = await ControlServer.StartAsync(new ControlServerOptions { SocketPath = SocketPath }, new Handler());
        StringWriter output = new();

        int code = await StatusCommand.InvokeAsync(new StatusOptions(SocketPath, Json: true), output, new StringWriter(), CancellationToken.None).WaitAsync(s_timeout);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(Report, JsonSerializer.Deserialize(output.ToString(), ControlJson.StatusReport));
        Assert.Contains("\"uptime_seconds\": 93784.9", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_Root_PrintsGenerations()
    {
        await using ControlServer server = await ControlServer.StartAsync(new ControlServerOptions { SocketPath = SocketPath }, new Handler());
        StringWriter output = new();

        int code = await ReloadCommand.InvokeAsync(new ReloadOptions(SocketPath, Json: false), output, new StringWriter(), CancellationToken.None).WaitAsync(s_timeout);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("rules reloaded: generation 2 -> 3, 4 rules\nrules.d/10-flash.yaml:7:12: warning: rule 'x' can never match\n", output.ToString());
    }

    [Fact]
    public async Task Reload_InvalidRules_DataErrorWithDaemonMessage()
    {
        await using ControlServer server = await ControlServer.StartAsync(new ControlServerOptions { SocketPath = SocketPath }, new Handler { FailReload = true });
        StringWriter error = new();

        int code = await ReloadCommand.InvokeAsync(new ReloadOptions(SocketPath, Json: false), new StringWriter(), error, CancellationToken.None).WaitAsync(s_timeout);

        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal("kvm-udev-agent: rules.d/10-flash.yaml:7:12: error: unknown match key 'vendr', keeping previous rules\n", error.ToString());
    }

    [Fact]
    public async Task Reload_AsNobodyInControlGroup_RefusedWithNoPermission()
    {
        const uint group = 64999;
        await using ControlServer server = await ControlServer.StartAsync(new ControlServerOptions { SocketPath = SocketPath, GroupId = group }, new Handler());

        (int code, string stdout, string stderr) = await RunCliAsNobodyAsync(group, "reload", "--control-socket", SocketPath);

        Assert.Equal(ExitCodes.NoPermission, code);
        Assert.Equal("kvm-udev-agent: 'reload' requires root: it changes what the agent does; you are uid 65534, gid 65534; run it with sudo\n", stderr);
        Assert.Empty(stdout);
        (int statusCode, string statusOut, _) = await RunCliAsNobodyAsync(group, "status", "--control-socket", SocketPath);
        Assert.Equal(ExitCodes.Success, statusCode);
        Assert.StartsWith("kvm-udev-agent 0.1.0-test, pid 4242", statusOut, StringComparison.Ordinal);
    }

    /// <summary>Runs the real CLI (the AOT binary from test.sh if set, else the built dll) as uid/gid 65534 with one supplementary group.</summary>
    private async Task<(int Code, string Stdout, string Stderr)> RunCliAsNobodyAsync(uint group, params string[] args)
    {
        string? aot = Environment.GetEnvironmentVariable("KUA_AOT_BINARY");
        List<string> argv = ["--reuid=65534", "--regid=65534", $"--groups={group}", "env", "HOME=/tmp", "DOTNET_CLI_TELEMETRY_OPTOUT=1"];
        if (!string.IsNullOrEmpty(aot))
        {
            // test.sh publishes into a mktemp directory (0700) that nobody cannot enter: run a copy.
            string copy = Path.Combine(_dir, "kvm-udev-agent");
            File.Copy(aot, copy, overwrite: true);
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            argv.Add(copy);
        }
        else
        {
            argv.AddRange(["dotnet", Path.Combine(AppContext.BaseDirectory, "kvm-udev-agent.dll")]);
        }

        argv.AddRange(args);
        using Process process = Process.Start(new ProcessStartInfo("setpriv", argv) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("setpriv did not start: install the Debian package util-linux");
        try
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(s_timeout);
            return (process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private sealed class Handler : IControlHandler
    {
        public bool FailReload { get; init; }

        public ValueTask<ControlResult> HandleAsync(ControlRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(request.Verb switch
        {
            ControlVerbs.Status => ControlResult.Success(Report, ControlJson.StatusReport),
            ControlVerbs.Reload when FailReload => ControlResult.Failure(ControlErrorCodes.InvalidRules, "rules.d/10-flash.yaml:7:12: error: unknown match key 'vendr', keeping previous rules"),
            ControlVerbs.Reload => ControlResult.Success(new ReloadReport { PreviousGeneration = 2, Generation = 3, Rules = 4, Warnings = ["rules.d/10-flash.yaml:7:12: warning: rule 'x' can never match"] }, ControlJson.ReloadReport),
            _ => ControlResult.Empty,
        });
    }
}
