using System.Text.Json;
using System.Text.RegularExpressions;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>
/// Issue 7, reliability 3: every file of the bad rule corpus (tests/Data/rules/bad, each with its
/// expected diagnostics) is dropped into the running daemon's rules directory and reloaded: a file
/// with errors is refused with exactly its diagnostics and the previous rules stay active (they
/// route events in between and at the end); a file with only warnings is accepted with them.
/// </summary>
public sealed partial class BadRuleReloadTests
{
    private const string SeedId = "kua-u2-1.4-058f6387";

    [Fact]
    public async Task BadCorpus_ReloadedOneByOne_EachRefusedWithItsDiagnostics_PreviousRulesKeepRouting()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        string record = Path.Combine(env.Work, "record.sh");
        File.WriteAllText(record, "#!/bin/sh\nprintf '%s\\n' \"$1\" >> \"$0.calls\"\n");
        File.SetUnixFileMode(record, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        env.WriteRules("10-good.yaml", $$"""
            rules:
              - name: flash-to-winxp
                match: { subsystem: usb, devtype: usb_device, vendor: "058f", product: "6387", serial: "576B63C4" }
                attach: { vm: winxp }
              - name: tell
                match: { subsystem: usb, devtype: usb_device, vendor: "0781" }
                hook: { run: ["{{record}}", "{serial}"] }
            """);
        // The corpus names the VMs winxp and win10; win10 never answers, which is fine here.
        env.WriteConfig(extraVms: "  win10: { monitor: \"unix:" + Path.Combine(env.Work, "win10-absent.sock") + "\" }\n");
        await env.StartDaemonAsync();
        long good = (await DaemonStatus.QueryAsync(env)).GetProperty("rules_generation").GetInt64();

        string corpus = Path.Combine(AppContext.BaseDirectory, "Data", "rules", "bad");
        string[] files = [.. Directory.GetFiles(corpus, "*.yaml").Order(StringComparer.Ordinal)];
        Assert.True(files.Length >= 50, $"only {files.Length} bad rule files in {corpus}");
        int refused = 0, between = 0;
        var failures = new List<string>();
        for (int i = 0; i < files.Length; i++)
        {
            string name = Path.GetFileName(files[i]);
            var expected = File.ReadAllLines(Path.ChangeExtension(files[i], ".expected")).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal);
            string target = Path.Combine(env.RulesDir, name);
            File.Copy(files[i], target);
            try
            {
                // Every tenth through the CLI as a user runs it, the rest over the same protocol in-process.
                (bool ok, string text) = i % 10 == 0 ? await ReloadCliAsync(env) : await ReloadAsync(env);
                var seen = Diagnostics(text, name);
                if (!ok)
                {
                    refused++;
                    Check(failures, name, seen.All(expected.Contains) && seen.Count > 0, $"refused with {Show(seen)}, expected a subset of {Show(expected)}");
                    // While the bad file is there no reload can succeed, so the active generation read now is the kept one.
                    long active = (await DaemonStatus.QueryAsync(env)).GetProperty("rules_generation").GetInt64();
                    Check(failures, name, active >= good && text.TrimEnd().EndsWith($"keeping previous rules (generation {active})", StringComparison.Ordinal), $"no 'keeping previous rules (generation {active})' in: " + text);
                }
                else
                {
                    // Only warnings or style notes: accepted, with exactly those.
                    Check(failures, name, seen.SetEquals(expected), $"accepted with {Show(seen)}, expected {Show(expected)}");
                }
            }
            finally
            {
                File.Delete(target);
            }

            if (i % 15 == 7)
            {
                // The rules in force still route events while bad files come and go.
                between++;
                await ReloadAsync(env);
                PlugSanDisk(env, "between" + between);
                await WaitForCallsAsync(record + ".calls", between);
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(refused >= 40, $"only {refused} of {files.Length} bad files were refused");

        (bool finalOk, _) = await ReloadAsync(env);
        Assert.True(finalOk);
        var seed = env.Sysfs.AddSeedFlashDrive();
        env.InjectUdev(env.Sysfs.PlugEvents(seed, udev: true));
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));
        Assert.Equal([SeedId], (await env.AgentDevicesAsync()).Keys);
        Assert.Equal([.. Enumerable.Range(1, between).Select(n => "between" + n)], File.ReadAllLines(record + ".calls"));

        // Each refusal is in the audit trail with both generation numbers (Issue7_ReloadAuditTests).
        var audited = await env.Syslog.WaitForAsync(m => m.MsgId == "rules.reload" && m.Element("kua@32473")["outcome"] == "failure", refused, TimeSpan.FromSeconds(10));
        Assert.All(audited, r =>
        {
            ParsedSdElement extra = r.Element("kua.x@32473");
            Assert.True(long.Parse(extra["attempted_generation"], System.Globalization.CultureInfo.InvariantCulture) > long.Parse(extra["generation"], System.Globalization.CultureInfo.InvariantCulture), r.Raw);
            Assert.Contains("keeping previous rules; first: ", r.Element("kua@32473")["error"], StringComparison.Ordinal);
        });
    }

    private static void Check(List<string> failures, string name, bool condition, string message)
    {
        if (!condition)
        {
            failures.Add(name + ": " + message);
        }
    }

    private static string Show(IEnumerable<string> lines) => "[" + string.Join(" | ", lines) + "]";

    /// <summary><c>path/name.yaml:L:C: severity: message [CODE]</c> lines of <paramref name="name"/>, as <c>name.yaml:L:C: CODE</c>.</summary>
    private static HashSet<string> Diagnostics(string text, string name) =>
        DiagnosticLine().Matches(text)
            .Where(m => Path.GetFileName(m.Groups["file"].Value) == name)
            .Select(m => Path.GetFileName(m.Groups["file"].Value) + m.Groups["pos"].Value + ": " + m.Groups["code"].Value)
            .ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"^(?<file>\S+?\.yaml)(?<pos>:\d+:\d+)?: (?:error|warning|style): .*\[(?<code>KUR\d+)\]$", RegexOptions.Multiline)]
    private static partial Regex DiagnosticLine();

    /// <summary>The reload verb over the control protocol: (accepted, the answer's text).</summary>
    internal static async Task<(bool Ok, string Text)> ReloadAsync(DaemonEnvironment env)
    {
        await using ControlClient client = await ControlClient.ConnectAsync(env.ControlSocket, TimeSpan.FromSeconds(10));
        ControlResponse response = await client.SendAsync(ControlVerbs.Reload);
        if (response.Error is { } error)
        {
            Assert.Equal(ControlErrorCodes.InvalidRules, error.Code);
            return (false, error.Message);
        }

        return (true, string.Join('\n', response.Result.GetProperty("warnings").EnumerateArray().Select(w => w.GetString())));
    }

    private static async Task<(bool Ok, string Text)> ReloadCliAsync(DaemonEnvironment env)
    {
        ProcessRunner.Result result = await ProcessRunner.RunAsync(RepoPaths.AgentBinary, ["reload", "--control-socket", env.ControlSocket]);
        return (result.ExitCode == 0, result.ExitCode == 0 ? result.Stdout : result.Stderr.Replace("kvm-udev-agent: ", string.Empty, StringComparison.Ordinal));
    }

    private static void PlugSanDisk(DaemonEnvironment env, string serial)
    {
        int n = int.Parse(serial.AsSpan("between".Length), System.Globalization.CultureInfo.InvariantCulture);
        SysfsFixture.Drive drive = env.Sysfs.UsbDevice(4, n.ToString(System.Globalization.CultureInfo.InvariantCulture), "0781", "5567").Strings("SanDisk", "Cruzer", serial).Add();
        env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));
    }

    private static async Task WaitForCallsAsync(string file, int count)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!File.Exists(file) || File.ReadAllLines(file).Length < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the hook ran {(File.Exists(file) ? File.ReadAllLines(file).Length : 0)} of {count} times");
            }

            await Task.Delay(25);
        }
    }
}
