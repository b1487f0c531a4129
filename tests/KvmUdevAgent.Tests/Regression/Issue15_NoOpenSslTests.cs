using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 15: hashing the rules directory (every load and reload) and block device ids with the BCL's
/// SHA-256 mapped libssl and libcrypto into the daemon for the rest of its life, 3.7 MiB of its idle
/// RSS. The daemon's own memory map, after a start and a reload, must show neither library.
/// </summary>
public sealed class Issue15_NoOpenSslTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Issue15_StartAndReload_MapsNoOpenSsl()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        env.WriteRules("10-a.yaml", "rules:\n  - name: a\n    match: { subsystem: block, fs_label: \"*\" }\n    mount: { path: \"{fs_label}\" }\n");
        env.WriteConfig();
        DaemonProcess daemon = await env.StartDaemonAsync();
        daemon.Signal(1);
        await daemon.WaitForLogAsync("SIGHUP: rules reloaded, generation 2, 1 rules", s_timeout);

        string[] mapped = [.. File.ReadLines($"/proc/{daemon.Pid}/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 6).Select(f => Path.GetFileName(f[5])).Distinct()];
        Assert.Contains(mapped, name => name.StartsWith("libc.so", StringComparison.Ordinal));
        Assert.DoesNotContain(mapped, name => name.StartsWith("libcrypto", StringComparison.Ordinal) || name.StartsWith("libssl", StringComparison.Ordinal));
    }
}
