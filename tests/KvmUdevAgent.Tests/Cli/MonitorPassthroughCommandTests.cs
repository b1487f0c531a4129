using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Cli;

/// <summary>
/// <c>monitor-command</c> (issue 11): QEMU's answer through the daemon's connection, and one clear
/// line with the right exit code for every bad input; the daemon keeps running.
/// </summary>
public sealed class MonitorPassthroughCommandTests
{
    [Fact]
    public async Task MonitorCommand_GoodAndBadInput_AnswersOrOneLineAndExitCode()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteConfig();
        ProcessRunner.Result down = await SharedMonitorScenarioTests.Cli(env, "monitor-command", "winxp", "{\"execute\":\"query-status\"}");
        Assert.Equal(69, down.ExitCode);
        Assert.Equal($"kvm-udev-agent: the daemon is not running (no socket at {env.ControlSocket}); start it with 'kvm-udev-agent run' or 'systemctl start kvm-udev-agent'\n", down.Stderr);

        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        ProcessRunner.Result status = await SharedMonitorScenarioTests.Cli(env, "monitor-command", "winxp", "{\"execute\":\"query-status\"}");
        Assert.True(status.ExitCode == 0, status.ToString());
        // Piped, so one line (pretty on a terminal).
        Assert.Single(status.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("\"status\":\"prelaunch\"", status.Stdout.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);

        ProcessRunner.Result human = await SharedMonitorScenarioTests.Cli(env, "monitor-command", "winxp", "--hmp", "info", "status");
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Equal("VM status: paused (prelaunch)\n", human.Stdout.Replace("\r", "", StringComparison.Ordinal));

        ProcessRunner.Result unknown = await SharedMonitorScenarioTests.Cli(env, "monitor-command", "nope", "{\"execute\":\"query-status\"}");
        Assert.Equal(66, unknown.ExitCode);
        Assert.Equal("kvm-udev-agent: no VM named 'nope'; configured: winxp\n", unknown.Stderr);

        ProcessRunner.Result notJson = await SharedMonitorScenarioTests.Cli(env, "monitor-command", "winxp", "query-status");
        Assert.Equal(64, notJson.ExitCode);
        Assert.StartsWith("kvm-udev-agent: not JSON: ", notJson.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("; a QMP command is a JSON object such as '{\"execute\": \"query-status\"}' (or pass --hmp for a human-monitor command line)\n", notJson.Stderr, StringComparison.Ordinal);
        Assert.Single(notJson.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        ProcessRunner.Result refused = await SharedMonitorScenarioTests.Cli(env, "monitor-command", "winxp", "{\"execute\":\"no-such-command\"}");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("kvm-udev-agent: QEMU refused the command: CommandNotFound: The command no-such-command has not been found\n", refused.Stderr);

        ProcessRunner.Result empty = await SharedMonitorScenarioTests.Cli(env, "monitor-command", "winxp", " ");
        Assert.Equal(64, empty.ExitCode);

        // Still running, still answering; every command is in the audit trail with its text.
        Assert.False(env.Daemon.HasExited);
        ProcessRunner.Result after = await SharedMonitorScenarioTests.Cli(env, "status");
        Assert.True(after.ExitCode == 0, after.ToString());
        var records = await env.Syslog.WaitForAsync(m => m.MsgId == "vm.command", 5, TimeSpan.FromSeconds(10));
        var refusedRecord = records.Single(r => r.Element("kua.x@32473")["command"] == "{\"execute\":\"no-such-command\"}");
        Assert.Equal("failure", refusedRecord.Element("kua@32473")["outcome"]);
        Assert.Equal("QEMU refused the command: CommandNotFound: The command no-such-command has not been found", refusedRecord.Element("kua@32473")["error"]);
        Assert.Contains(records, r => r.Element("kua.x@32473")["command"] == "info status" && r.Element("kua@32473")["outcome"] == "success");
    }
}
