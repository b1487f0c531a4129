using ToolRunner = KvmUdevAgent.Core.Tests.Devices.ToolRunner;
using System.Collections.Immutable;
using System.Text;
using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

/// <summary>Real processes: hook scripts written into a temp dir, checked through files, pipes and /proc.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HookRunnerTests : IDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);
    private readonly HookScripts _scripts = new();
    private readonly HookRunner _runner = new();

    public void Dispose() => _scripts.Dispose();

    [Fact]
    public async Task RunAsync_HostileArguments_ArriveVerbatimAsArgv()
    {
        var script = _scripts.Write("args.sh", """
            #!/bin/sh
            out="$1"
            shift
            printf '%s\0' "$0" "$@" > "$out"
            """);
        string[] hostile = ["it's \"quoted\"", "$(touch /tmp/kua-pwned)", "`id`", "line1\nline2", "a; rm -rf /", "", "  spaces  ", "-n", "*", "\\", "Ünïcødé ☃", "%s%n"];
        var output = _scripts.PathOf("args.out");

        var result = await _runner.RunAsync(new HookRequest { Argv = [script, output, .. hostile] }, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error ?? result.Stderr);
        var received = (await File.ReadAllTextAsync(output)).Split('\0')[..^1];
        Assert.Equal([script, .. hostile], received);
        Assert.False(File.Exists("/tmp/kua-pwned"));
    }

    [Fact]
    public async Task RunAsync_Environment_OnlyBaseAndKuaVariables()
    {
        Environment.SetEnvironmentVariable("KUA_LEAK_CANARY", "leaked");
        Environment.SetEnvironmentVariable("LEAK_CANARY", "leaked");
        try
        {
            var script = _scripts.Write("env.sh", """
                #!/bin/sh
                exec /usr/bin/env -0 > "$1"
                """);
            var output = _scripts.PathOf("env.out");
            var environment = ImmutableDictionary<string, string>.Empty
                .Add("KUA_SERIAL", "576B\"$(id)`x`;\nrm 'q'")
                .Add("KUA_LABEL", "Ünï ☃")
                .Add("KUA_VENDOR", "058f")
                .Add("KUA_EMPTY", "");

            var result = await _runner.RunAsync(new HookRequest { Argv = [script, output], Environment = environment }, CancellationToken.None);

            Assert.True(result.Succeeded, result.Error ?? result.Stderr);
            var received = (await File.ReadAllTextAsync(output)).Split('\0')[..^1].Order(StringComparer.Ordinal);
            // dash adds PWD to what it exports; everything else is exactly what we passed.
            Assert.Equal(
                ["KUA_EMPTY=", "KUA_LABEL=Ünï ☃", "KUA_SERIAL=576B\"$(id)`x`;\nrm 'q'", "KUA_VENDOR=058f", "LANG=C.UTF-8", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PWD=/"],
                received);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KUA_LEAK_CANARY", null);
            Environment.SetEnvironmentVariable("LEAK_CANARY", null);
        }
    }

    [Fact]
    public async Task RunAsync_DirectExec_EnvironmentExact()
    {
        var environment = ImmutableDictionary<string, string>.Empty.Add("KUA_SERIAL", "a\nb");

        var result = await _runner.RunAsync(new HookRequest { Argv = ["/usr/bin/env", "-0"], Environment = environment }, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error ?? result.Stderr);
        Assert.Equal("PATH=/usr/sbin:/usr/bin:/sbin:/bin\0LANG=C.UTF-8\0KUA_SERIAL=a\nb\0", result.Stdout);
    }

    [Fact]
    public async Task Start_LeakyDescriptorInDaemon_HookHasOnlyStdioInItsOwnSession()
    {
        var leaked = OpenWithoutCloseOnExec("/etc/hostname");
        try
        {
            await using var process = HookProcess.Start("/bin/sleep", ["/bin/sleep", "30"], ["PATH=/bin"], 1024);
            await WaitUntilSleepingAsync(process.Pid);

            var fds = Directory.GetFileSystemEntries($"/proc/{process.Pid}/fd").Select(Path.GetFileName).Order(StringComparer.Ordinal);
            Assert.Equal(["0", "1", "2"], fds);
            Assert.Equal("/dev/null", File.ResolveLinkTarget($"/proc/{process.Pid}/fd/0", false)!.FullName);
            Assert.StartsWith("pipe:", new FileInfo($"/proc/{process.Pid}/fd/1").LinkTarget, StringComparison.Ordinal);
            Assert.StartsWith("pipe:", new FileInfo($"/proc/{process.Pid}/fd/2").LinkTarget, StringComparison.Ordinal);
            Assert.Equal("/", new FileInfo($"/proc/{process.Pid}/cwd").LinkTarget);
            var stat = (await File.ReadAllTextAsync($"/proc/{process.Pid}/stat")).Split(')')[1].Split(' ');
            Assert.Equal(process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), stat[3]); // pgrp
            Assert.Equal(process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), stat[4]); // session
            Assert.Contains($"/proc/self/fd/{leaked}", Directory.GetFileSystemEntries("/proc/self/fd"));
        }
        finally
        {
            CloseFd(leaked);
        }
    }

    /// <summary>
    /// Waits until the process sits in (clock_)nanosleep: posix_spawn returns at the exec, while the
    /// dynamic loader may still hold ld.so.cache or libc open as fd 3.
    /// </summary>
    private static async Task WaitUntilSleepingAsync(int pid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var syscall = (await File.ReadAllTextAsync($"/proc/{pid}/syscall")).Split(' ')[0];
            if (syscall is "35" or "230")
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"process {pid} never reached nanosleep (in syscall {syscall})");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task RunAsync_ListsOwnDescriptors_OnlyStdioAndItsOwnDirectoryHandle()
    {
        var leaked = OpenWithoutCloseOnExec("/etc/hostname");
        try
        {
            var result = await _runner.RunAsync(new HookRequest { Argv = ["/bin/ls", "-l", "/proc/self/fd/"] }, CancellationToken.None);

            Assert.True(result.Succeeded, result.Stderr);
            var targets = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1) // "total 0"
                .Select(line => line[(line.IndexOf(" -> ", StringComparison.Ordinal) - 1)..])
                .Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(4, targets.Length);
            Assert.Equal("0 -> /dev/null", targets[0]);
            Assert.StartsWith("1 -> pipe:", targets[1], StringComparison.Ordinal);
            Assert.StartsWith("2 -> pipe:", targets[2], StringComparison.Ordinal);
            Assert.Matches(@"^3 -> /proc/\d+/fd$", targets[3]); // ls's own handle on the directory it lists
        }
        finally
        {
            CloseFd(leaked);
        }
    }

    [Fact]
    public async Task RunAsync_Timeout_KillsGroupWithBackgroundChild()
    {
        var fifo = MakeFifo("ready");
        var script = _scripts.Write("sleepy.sh", """
            #!/bin/sh
            sleep 100 &
            echo $! > "$1"
            sleep 100
            """);
        var run = _runner.RunAsync(new HookRequest { Argv = [script, fifo], Timeout = TimeSpan.FromSeconds(2), KillGrace = TimeSpan.FromSeconds(5) }, CancellationToken.None);
        var child = await ReadPidAsync(fifo);
        var childExit = ProcessProbe.WatchExit(child, s_wait);

        var result = await run.WaitAsync(s_wait);

        Assert.Equal(HookOutcome.TimedOut, result.Outcome);
        Assert.True(result.TimedOut);
        Assert.Equal(15, result.Signal);
        Assert.Null(result.ExitCode);
        Assert.True(await childExit.WaitAsync(s_wait), "background child still running");
        Assert.True(ProcessProbe.IsDead(child));
        Assert.True(ProcessProbe.IsDead(result.Pid));
    }

    [Fact]
    public async Task RunAsync_IgnoresSigterm_KilledAfterGrace()
    {
        var fifo = MakeFifo("ready");
        var script = _scripts.Write("stubborn.sh", """
            #!/bin/sh
            trap '' TERM
            sleep 100 &
            echo $! > "$1"
            sleep 100
            """);
        var run = _runner.RunAsync(new HookRequest { Argv = [script, fifo], Timeout = TimeSpan.FromSeconds(2), KillGrace = TimeSpan.FromMilliseconds(300) }, CancellationToken.None);
        var child = await ReadPidAsync(fifo);
        var childExit = ProcessProbe.WatchExit(child, s_wait);

        var result = await run.WaitAsync(s_wait);

        Assert.Equal(HookOutcome.TimedOut, result.Outcome);
        Assert.Equal(9, result.Signal);
        // SIGKILL came only after the grace period (timeout 2 s + grace 0.3 s; the two clocks start
        // a few milliseconds apart, so allow for that).
        Assert.True(result.Duration >= TimeSpan.FromSeconds(2.2), $"killed after {result.Duration}");
        Assert.True(await childExit.WaitAsync(s_wait), "background child still running");
    }

    [Fact]
    public async Task RunAsync_ExitsLeavingBackgroundChild_ChildKilledLikeUdevDoes()
    {
        var fifo = MakeFifo("ready");
        var script = _scripts.Write("daemonish.sh", """
            #!/bin/sh
            sleep 100 &
            echo $! > "$1"
            echo done
            """);
        var run = _runner.RunAsync(new HookRequest { Argv = [script, fifo], Timeout = TimeSpan.FromSeconds(60) }, CancellationToken.None);
        var child = await ReadPidAsync(fifo);
        var childExit = ProcessProbe.WatchExit(child, s_wait);

        var result = await run.WaitAsync(s_wait);

        Assert.Equal(HookOutcome.Exited, result.Outcome);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("done\n", result.Stdout);
        Assert.False(result.StdoutTruncated);
        Assert.True(await childExit.WaitAsync(s_wait), "background child still running");
    }

    [Fact]
    public async Task RunAsync_FailingHook_ReportsExitStatusAndStderr()
    {
        var script = _scripts.Write("fail.sh", """
            #!/bin/sh
            echo "partial"
            echo "no such VM" >&2
            exit 3
            """);

        var result = await _runner.RunAsync(new HookRequest { Argv = [script] }, CancellationToken.None);

        Assert.Equal(HookOutcome.Exited, result.Outcome);
        Assert.Equal(3, result.ExitCode);
        Assert.Null(result.Signal);
        Assert.False(result.Succeeded);
        Assert.Equal("partial\n", result.Stdout);
        Assert.Equal("no such VM\n", result.Stderr);
    }

    [Fact]
    public async Task RunAsync_KilledBySignal_ReportsSignal()
    {
        var script = _scripts.Write("suicide.sh", """
            #!/bin/sh
            kill -9 $$
            """);

        var result = await _runner.RunAsync(new HookRequest { Argv = [script] }, CancellationToken.None);

        Assert.Equal(HookOutcome.Signaled, result.Outcome);
        Assert.Equal(9, result.Signal);
        Assert.Null(result.ExitCode);
    }

    [Fact]
    public async Task RunAsync_LargeOutput_BoundedAndMarkedTruncated()
    {
        var script = _scripts.Write("chatty.sh", """
            #!/bin/sh
            head -c 300000 /dev/zero | tr '\0' a
            echo err >&2
            """);

        var result = await _runner.RunAsync(new HookRequest { Argv = [script], OutputLimit = 1000 }, CancellationToken.None);

        Assert.True(result.Succeeded);
        Assert.Equal(new string('a', 1000), result.Stdout);
        Assert.True(result.StdoutTruncated);
        Assert.Equal("err\n", result.Stderr);
        Assert.False(result.StderrTruncated);
    }

    [Fact]
    public async Task RunAsync_Cancelled_GroupKilledAndThrows()
    {
        var fifo = MakeFifo("ready");
        var script = _scripts.Write("long.sh", """
            #!/bin/sh
            sleep 100 &
            echo $! > "$1"
            sleep 100
            """);
        using var cts = new CancellationTokenSource();
        var run = _runner.RunAsync(new HookRequest { Argv = [script, fifo], Timeout = TimeSpan.FromSeconds(60) }, cts.Token);
        var child = await ReadPidAsync(fifo);
        var childExit = ProcessProbe.WatchExit(child, s_wait);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(s_wait));
        Assert.True(await childExit.WaitAsync(s_wait), "background child still running");
    }

    [Fact]
    public async Task RunAsync_ScriptWithoutShebang_NotStartedNoShellFallback()
    {
        var script = _scripts.Write("noshebang.sh", "touch /tmp/kua-should-not-exist\n");

        var result = await _runner.RunAsync(new HookRequest { Argv = [script] }, CancellationToken.None);

        Assert.Equal(HookOutcome.NotStarted, result.Outcome);
        Assert.Equal($"spawning '{script}' failed: ENOEXEC (not an executable format; a script needs a #! line)", result.Error);
        Assert.False(File.Exists("/tmp/kua-should-not-exist"));
    }

    [Theory]
    [InlineData("notify-plug", "hook program 'notify-plug' is not an absolute path (there is no PATH lookup)")]
    [InlineData("/nonexistent/kua-hook", "hook program '/nonexistent/kua-hook' does not exist")]
    [InlineData("/etc", "hook program '/etc' is not a regular file")]
    public async Task RunAsync_BadProgram_NotStarted(string program, string expected)
    {
        var result = await _runner.RunAsync(new HookRequest { Argv = [program] }, CancellationToken.None);

        Assert.Equal(HookOutcome.NotStarted, result.Outcome);
        Assert.Equal(expected, result.Error);
    }

    [Fact]
    public async Task RunAsync_NotExecutable_NotStarted()
    {
        var script = _scripts.Write("plain.sh", "#!/bin/sh\n", (UnixFileMode)0x1a4 /* 0644 */);

        var result = await _runner.RunAsync(new HookRequest { Argv = [script] }, CancellationToken.None);

        Assert.Equal(HookOutcome.NotStarted, result.Outcome);
        Assert.Equal($"hook program '{script}' is not executable (chmod +x)", result.Error);
    }

    [Theory]
    [InlineData("PATH", "x", "environment variable name 'PATH' must match KUA_[A-Z0-9_]+")]
    [InlineData("KUA_", "x", "environment variable name 'KUA_' must match KUA_[A-Z0-9_]+")]
    [InlineData("KUA_lower", "x", "environment variable name 'KUA_lower' must match KUA_[A-Z0-9_]+")]
    [InlineData("KUA_A=B", "x", "environment variable name 'KUA_A=B' must match KUA_[A-Z0-9_]+")]
    [InlineData("KUA_SERIAL", "a\0b", "environment variable KUA_SERIAL contains NUL")]
    public async Task RunAsync_BadEnvironment_NotStarted(string name, string value, string expected)
    {
        var result = await _runner.RunAsync(new HookRequest { Argv = ["/bin/true"], Environment = ImmutableDictionary<string, string>.Empty.Add(name, value) }, CancellationToken.None);

        Assert.Equal(HookOutcome.NotStarted, result.Outcome);
        Assert.Equal(expected, result.Error);
    }

    [Fact]
    public async Task RunAsync_ZeroTimeout_NotStarted()
    {
        var result = await _runner.RunAsync(new HookRequest { Argv = ["/bin/true"], Timeout = TimeSpan.Zero }, CancellationToken.None);

        Assert.Equal(HookOutcome.NotStarted, result.Outcome);
        Assert.Equal("hook timeout must be positive (or infinite) and the kill grace not negative", result.Error);
    }

    [Fact]
    public async Task RunAsync_NulInArgument_NotStarted()
    {
        var result = await _runner.RunAsync(new HookRequest { Argv = ["/bin/true", "a\0b"] }, CancellationToken.None);

        Assert.Equal(HookOutcome.NotStarted, result.Outcome);
        Assert.Equal("hook argument 1 contains NUL", result.Error);
    }

    private string MakeFifo(string name)
    {
        var path = _scripts.PathOf(name);
        ToolRunner.RunAsync(ToolRunner.Require("mkfifo", "coreutils"), path).GetAwaiter().GetResult();
        return path;
    }

    /// <summary>Opening a FIFO blocks until the hook opens it for writing; the hook blocks until we read.</summary>
    private static async Task<int> ReadPidAsync(string fifo)
    {
        var text = await Task.Factory.StartNew(() => File.ReadAllText(fifo), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).WaitAsync(s_wait);
        return int.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static unsafe int OpenWithoutCloseOnExec(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            var fd = Tmds.Linux.LibC.open(p, Tmds.Linux.LibC.O_RDONLY, 0);
            Assert.True(fd >= 0);
            return fd;
        }
    }

    private static void CloseFd(int fd) => _ = Tmds.Linux.LibC.close(fd);
}
