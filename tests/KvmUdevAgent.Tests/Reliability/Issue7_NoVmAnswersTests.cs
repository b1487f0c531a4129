using KvmUdevAgent.Tests.Daemon;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>
/// Issue 7 found that a daemon whose VM monitors all fail to answer at start said nothing above
/// debug level (the "No VM monitor answers yet" warning existed but was never logged), so a wrong
/// monitor path went unnoticed until a device failed to appear.
/// </summary>
public sealed class Issue7_NoVmAnswersTests
{
    [Fact]
    public async Task Issue7_MonitorSocketMissingAtStart_DaemonWarnsNamingTheVmAndEndpoint()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string socket = Path.Combine(env.Work, "absent", "qmp.sock");
        env.WriteRules("10-any.yaml", "rules:\n  - name: a\n    match: { subsystem: usb, devtype: usb_device }\n    attach: { vm: winxp }\n");
        env.WriteConfig(extraVms: "  winxp: { monitor: \"unix:" + socket + "\" }\n");
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync(
            "No VM monitor answers yet (winxp at unix:" + socket + "); devices routed to VMs will be attached when their monitor answers",
            TimeSpan.FromSeconds(10));
        Assert.False(env.Daemon.HasExited);
    }
}
