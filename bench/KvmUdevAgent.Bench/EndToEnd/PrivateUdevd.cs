using System.Diagnostics;
using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// The baseline: Debian's systemd-udevd, run as a child in its own mount and network namespace so
/// the machine's udev setup is untouched: a private tmpfs on /run (its database and control socket),
/// the harness's rules directory bound over /etc/udev/rules.d and an empty one over
/// /usr/lib/udev/rules.d, so only the harness's rule runs. Kernel uevents of block devices are
/// broadcast into every network namespace, so it still sees the loop devices' events; what it
/// re-broadcasts on the udev netlink group stays in its namespace. Stopped by PID; the namespace
/// (and its mounts) goes with it.
/// </summary>
internal sealed class PrivateUdevd : IAsyncDisposable
{
    public const string Binary = "/lib/systemd/systemd-udevd";

    private readonly Process _process;
    private readonly string _dir;
    private int _disposed;

    private PrivateUdevd(Process process, string dir)
    {
        _process = process;
        _dir = dir;
    }

    public int Pid => _process.Id;

    public string Log => File.ReadAllText(Path.Combine(_dir, "udevd.log"));

    /// <summary>Starts udevd with <paramref name="rules"/> as its only rules file; waits for its control socket.</summary>
    public static async Task<PrivateUdevd> StartAsync(string rules)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} not found: install the Debian package 'udev'");
        }

        string dir = Directory.CreateTempSubdirectory("kua-udevd-").FullName;
        string rulesDir = Path.Combine(dir, "rules.d");
        string emptyDir = Path.Combine(dir, "empty");
        Directory.CreateDirectory(rulesDir);
        Directory.CreateDirectory(emptyDir);
        File.WriteAllText(Path.Combine(rulesDir, "99-kua-bench.rules"), rules);
        string log = Path.Combine(dir, "udevd.log");
        var psi = new ProcessStartInfo("unshare") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (string a in (string[])[
            "--mount", "--net", "--propagation", "private", "--", "/bin/sh", "-c",
            "mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/udev && mount --bind \"$1\" /etc/udev/rules.d && mount --bind \"$2\" /usr/lib/udev/rules.d && exec \"$3\" --resolve-names=never >\"$4\" 2>&1",
            "sh", rulesDir, emptyDir, Binary, log])
        {
            psi.ArgumentList.Add(a);
        }

        Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start systemd-udevd");
        var udevd = new PrivateUdevd(process, dir);
        try
        {
            // The control socket inside udevd's namespace, seen through its root.
            string control = $"/proc/{process.Id}/root/run/udev/control";
            var clock = Stopwatch.StartNew();
            while (!File.Exists(control))
            {
                if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new InvalidOperationException("systemd-udevd did not start: " + (File.Exists(log) ? File.ReadAllText(log) : "(no log)"));
                }

                await Task.Delay(10);
            }

            return udevd;
        }
        catch
        {
            await udevd.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until udevd's queue is empty (every RUN program has finished): <c>udevadm settle</c> in its namespace.</summary>
    public Task SettleAsync() =>
        TestProcess.RunAsync("nsenter", "util-linux", "--target", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--mount", "--", "udevadm", "settle", "--timeout=20");

    public long RssKiB() => ProcStatus.RssKiB(_process.Id);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _ = Tmds.Linux.LibC.kill(_process.Id, 15);
                try
                {
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    _process.Kill();
                    await _process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }
}
