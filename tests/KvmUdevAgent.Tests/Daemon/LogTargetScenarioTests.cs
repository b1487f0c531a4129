namespace KvmUdevAgent.Tests.Daemon;

/// <summary><c>log: syslog</c>: the daemon's own log goes to syslog (a real rsyslogd), not to stderr.</summary>
public sealed class LogTargetScenarioTests
{
    [Fact]
    public async Task LogSyslog_DaemonLog_ReachesRsyslogNotStderr()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        env.WriteRules("10-a.yaml", "rules:\n  - name: a\n    match: { subsystem: usb }\n    hook: { run: [/bin/true] }\n");
        env.WriteConfig(extra: "log: syslog\n");
        var daemon = await env.StartDaemonAsync();

        // MSGID is the log event's name; the event's properties are structured data.
        var ready = await env.Syslog.WaitForAsync(m => m.MsgId == "Started", 1, TimeSpan.FromSeconds(10));
        Assert.Contains("Ready: source", ready[0].Raw, StringComparison.Ordinal);
        Assert.Equal("1", ready[0].Element("log@32473")["RuleCount"]);
        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        await env.Syslog.WaitForAsync(m => m.MsgId == "Stopped" && m.Raw.Contains("every audit record was delivered", StringComparison.Ordinal), 1, TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("Ready:", daemon.Stderr, StringComparison.Ordinal);
    }
}
