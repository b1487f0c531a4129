using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 14: a SIGHUP right after a rule file edit reloaded twice, once for the signal and once
/// for the directory watcher, each time with a reconcile of every VM. Now the watcher's event for
/// an edit the SIGHUP already read reloads nothing. A second edit, with no SIGHUP, is the
/// watcher's own: its reload must be generation 3 (with the bug it was 4), and in a real
/// rsyslogd's file, after agent.stop proves the queue was flushed, there is one rules.reload
/// record per change and one reconcile per reload.
/// </summary>
public sealed class Issue14_ReloadOnceTests
{
    private const string RuleA = "rules:\n  - name: a\n    match: { subsystem: usb, vendor: \"{0}\" }\n    attach: { vm: winxp }\n";
    private const string RuleB = "  - name: b\n    match: { subsystem: usb, vendor: \"1234\" }\n    attach: { vm: winxp }\n";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Issue14_EditThenSighup_OneReloadOneReconcileOneRecordPerChange()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-a.yaml", RuleA.Replace("{0}", "058f", StringComparison.Ordinal));
        env.WriteConfig();
        DaemonProcess daemon = await env.StartDaemonAsync();
        await WaitForCountAsync(daemon, "VM winxp reconciled", 1);

        // Change 1: an edit and, right after it, SIGHUP.
        env.WriteRules("10-a.yaml", RuleA.Replace("{0}", "0781", StringComparison.Ordinal));
        daemon.Signal(1);
        await daemon.WaitForLogAsync("SIGHUP: rules reloaded, generation 2, 1 rules", s_timeout);

        // Change 2: an edit only; the watcher reloads it.
        env.WriteRules("10-a.yaml", RuleA.Replace("{0}", "0781", StringComparison.Ordinal) + RuleB);
        await daemon.WaitForLogAsync(", 2 rules", s_timeout);
        Assert.Contains("Rules reloaded: generation 3, 2 rules", daemon.Stderr, StringComparison.Ordinal);
        await WaitForCountAsync(daemon, "VM winxp reconciled", 3);

        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitForExitAsync(s_timeout));
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.stop", 1, s_timeout);
        var reloads = env.Syslog.ReadAll().Where(m => m.MsgId == "rules.reload").ToList();
        Assert.Equal(["2", "3"], reloads.Select(r => r.Element("kua.x@32473")["generation"]));
        Assert.Equal(3, Count(daemon.Stderr, "VM winxp reconciled")); // the first connect, then one per reload
    }

    private static async Task WaitForCountAsync(DaemonProcess daemon, string text, int count)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (Count(daemon.Stderr, text) < count)
        {
            Assert.True(DateTime.UtcNow < deadline && !daemon.HasExited, $"\"{text}\" was not logged {count} times\nstderr:\n{daemon.Stderr}");
            await Task.Delay(25);
        }
    }

    private static int Count(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
