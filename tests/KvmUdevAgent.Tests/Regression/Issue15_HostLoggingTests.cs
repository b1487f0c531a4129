using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 15: the host's logger factory is Serilog's and the levels are Serilog's (no
/// Microsoft.Extensions.Logging filter options, which NativeAOT's type loader built at run time).
/// What the log shows must be what it was: debug lines only with --verbose, and a start failure
/// printed once by 'run', without the host's own "Hosting failed to start" line and stack trace.
/// </summary>
public sealed class Issue15_HostLoggingTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private const string ValidRules = "rules:\n  - name: a\n    match: { subsystem: block, fs_label: \"*\" }\n    mount: { path: \"{fs_label}\" }\n";

    [Fact]
    public async Task Run_RulesWithErrors_DiagnosticPrintedOnceWithoutTheHostsOwnLine()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        env.WriteRules("10-a.yaml", "rules:\n  - name: a\n    match: { subsystem: block, bogus_key: 1 }\n    mount: { path: \"x\" }\n");
        env.WriteConfig();
        await using DaemonProcess daemon = DaemonProcess.Start(env.ConfigPath, env.Work);

        Assert.Equal(78, await daemon.WaitForExitAsync(s_timeout));
        string stderr = daemon.Stderr;
        Assert.Equal(1, Count(stderr, "unknown match key 'bogus_key'"));
        Assert.Equal(1, Count(stderr, "kvm-udev-agent: the rules in "));
        Assert.DoesNotContain("Hosting failed to start", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Run_Verbose_DebugLinesOnlyWithIt(bool verbose)
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        env.WriteRules("10-a.yaml", ValidRules);
        env.WriteConfig();
        DaemonProcess daemon = await env.StartDaemonAsync(verbose ? ["--verbose"] : []);
        await daemon.WaitForLogAsync("Ready: ", s_timeout);
        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitForExitAsync(s_timeout));

        // The control socket's debug line comes before READY=1 in every start.
        Assert.Equal(verbose, daemon.Stderr.Contains("DBG Control socket listening on ", StringComparison.Ordinal));
        Assert.Equal(verbose, daemon.Stderr.Contains("DBG ", StringComparison.Ordinal));
        Assert.Contains("INF Stopping: ", daemon.Stderr, StringComparison.Ordinal);
    }

    private static int Count(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
