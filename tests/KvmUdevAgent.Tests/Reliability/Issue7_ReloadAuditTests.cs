using KvmUdevAgent.Tests.Daemon;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>
/// Issue 7 found that a reload asked for over the control socket (or by SIGHUP) left no
/// <c>rules.reload</c> audit record and no reconcile: only the directory watcher's reloads did,
/// although the host's comment said "the daemon has logged and audited the diagnostics".
/// </summary>
public sealed class Issue7_ReloadAuditTests
{
    [Fact]
    public async Task Issue7_ReloadVerbAndSighup_BadRules_EachAuditedWithBothGenerations()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        env.WriteRules("10-good.yaml", "rules:\n  - name: a\n    match: { subsystem: usb }\n    hook: { run: [/bin/true] }\n");
        env.WriteConfig();
        await env.StartDaemonAsync();

        env.WriteRules("20-bad.yaml", "rules:\n  - name: b\n    match: { vendr: \"058f\" }\n    hook: { run: [/bin/true] }\n");
        // The directory watcher reloads once on its own; wait for that record, then ask twice more.
        await env.Syslog.WaitForAsync(IsFailedReload, 1, TimeSpan.FromSeconds(10));
        (bool ok, string text) = await BadRuleReloadTests.ReloadAsync(env);
        Assert.False(ok);
        Assert.Contains("20-bad.yaml:3:14: error: unknown match key 'vendr'", text, StringComparison.Ordinal);
        var records = await env.Syslog.WaitForAsync(IsFailedReload, 2, TimeSpan.FromSeconds(10));

        env.Daemon!.Signal(1);
        records = await env.Syslog.WaitForAsync(IsFailedReload, 3, TimeSpan.FromSeconds(10));
        Assert.All(records, r => Assert.Equal("1", r.Element("kua.x@32473")["generation"]));
        Assert.Equal(3, records.Select(r => r.Element("kua.x@32473")["attempted_generation"]).Distinct().Count());
        Assert.Contains("20-bad.yaml:3:14", records[^1].Element("kua@32473")["error"], StringComparison.Ordinal);
    }

    private static bool IsFailedReload(Core.Tests.Audit.ReceivedSyslogMessage m) => m.MsgId == "rules.reload" && m.Element("kua@32473")["outcome"] == "failure";
}
