using KvmUdevAgent.Core.Tests.Netns;
using System.Diagnostics;
using System.Text.Json;
using KvmUdevAgent.Cli;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Tests.Cli;

public sealed class MonitorCommandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Monitor_JsonKernelSource_PrintsRealLoopDeviceUevent_AndCountsOnSigint()
    {
        using Process monitor = StartAgent("monitor", "--source", "kernel", "--json", "--subsystem", "block");
        try
        {
            // Ready once bound: the handler writes nothing before --json output, so probe with uevents
            // until one comes back (the socket may not be bound yet for the first).
            string token = Guid.NewGuid().ToString("N");
            await using LoopDevice loop = await LoopDevice.CreateAsync();
            Task<string> line = ReadLineWithAsync(monitor.StandardOutput, token);
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
            while (!line.IsCompleted)
            {
                loop.TriggerUevent("change", Guid.NewGuid(), ("RUNID", token));
                await Task.WhenAny(line, timer.WaitForNextTickAsync().AsTask());
            }

            using JsonDocument json = JsonDocument.Parse(await line);
            JsonElement root = json.RootElement;
            Assert.Equal("kernel", root.GetProperty("source").GetString());
            Assert.False(root.GetProperty("coldplug").GetBoolean());
            var properties = root.GetProperty("properties").EnumerateArray().Select(p => (p.GetProperty("key").GetString(), p.GetProperty("value").GetString())).ToList();
            Assert.Equal(("ACTION", "change"), properties[0]);
            Assert.Contains(("SUBSYSTEM", "block"), properties);
            Assert.Contains(("SYNTH_ARG_RUNID", token), properties);
            Assert.Contains(("DEVNAME", loop.Name), properties);

            Assert.Equal(0, kill(monitor.Id, 2));
            await monitor.WaitForExitAsync().WaitAsync(s_timeout);
            Assert.Equal(ExitCodes.Interrupted, monitor.ExitCode);
            string stderr = await monitor.StandardError.ReadToEndAsync();
            Assert.Matches(@"kernel: [1-9][0-9]* seen, 0 dropped as spoofed or untrusted, 0 malformed, 0 overruns \(lost to overflow\), [0-9]+ missing by SEQNUM", stderr);
        }
        finally
        {
            if (!monitor.HasExited)
            {
                monitor.Kill();
            }
        }
    }

    [Fact]
    public async Task Monitor_ColdplugFixtureTree_PrintsPresentDevicesFirst_ParentsBeforeChildren()
    {
        using var sysfs = new KvmUdevAgent.Core.Tests.Devices.SysfsFixture();
        sysfs.AddSeedFlashDrive();
        string record = Path.Combine(Path.GetTempPath(), "kua-monitor-" + Guid.NewGuid().ToString("N") + ".jsonl");
        using Process monitor = StartAgent("monitor", "--source", "kernel", "--json", "--coldplug", "--sysfs-root", sysfs.Root, "--record", record);
        try
        {
            var lines = new List<string>();
            int expected = sysfs.Nodes.Count(n => n.Subsystem is "usb" or "block");
            while (lines.Count < expected)
            {
                lines.Add(await monitor.StandardOutput.ReadLineAsync().WaitAsync(s_timeout) ?? throw new InvalidOperationException("monitor exited"));
            }

            Assert.Equal(0, kill(monitor.Id, 2));
            await monitor.WaitForExitAsync().WaitAsync(s_timeout);
            Assert.Equal(ExitCodes.Interrupted, monitor.ExitCode);

            var events = lines.Select(l => UeventRecordReader.TryParseLine(l, out UeventRecord? r, out string? error) ? r : throw new InvalidOperationException(error)).ToList();
            Assert.All(events, e => Assert.True(e.Event.Coldplug));
            Assert.All(events, e => Assert.Equal(UeventAction.Add, e.Event.Action));
            Assert.Contains(events, e => e.Event.GetString("DEVTYPE") == "usb_device" && e.Event.DevPath.EndsWith("-1.4", StringComparison.Ordinal));
            var devPaths = events.Select(e => e.Event.DevPath).ToList();
            for (int i = 0; i < devPaths.Count; i++)
            {
                Assert.DoesNotContain(devPaths.Skip(i + 1), later => devPaths[i].StartsWith(later + "/", StringComparison.Ordinal));
            }

            // --record wrote the same lines first (a live kernel event from a parallel test may follow
            // before the SIGINT: this monitor listens to the real kernel too).
            Assert.Equal(lines, File.ReadAllLines(record).Take(lines.Count));
        }
        finally
        {
            if (!monitor.HasExited)
            {
                monitor.Kill();
            }

            File.Delete(record);
        }
    }

    [Fact]
    public void MonitorText_HostileBytes_Escaped()
    {
        byte[] props = [.. "ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=block\0ID_FS_LABEL=a\u001b[2J\\"u8, 0xff, .. "\u202e\0"u8];
        Assert.True(UeventParser.TryParse(UdevMessageWriter.WriteRaw(props), UeventSource.Udev, 1_500_000_000, out Uevent? e, out _));
        string text = MonitorText.Format(e);
        Assert.Equal("UDEV[1.500000] add      /devices/x (block)\n  ACTION=add\n  DEVPATH=/devices/x\n  SUBSYSTEM=block\n  ID_FS_LABEL=a\\x1b[2J\\x5c\\xff\\xe2\\x80\\xae\n\n", text);
    }

    private static async Task<string> ReadLineWithAsync(StreamReader reader, string token)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Contains(token, StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException("monitor exited");
    }

    /// <summary>
    /// The NativeAOT binary when test.sh published one, else the framework-dependent build next to the tests,
    /// started through <c>env --default-signal=INT</c> (which execs it: same PID). These tests stand for Ctrl-C
    /// in a terminal; a suite started in the background of a shell without job control (<c>(./test.sh &amp;)</c>)
    /// inherits SIGINT ignored, the runtime keeps it so, and the monitor would never see the signal.
    /// </summary>
    private static Process StartAgent(params string[] args)
    {
        string? aot = Environment.GetEnvironmentVariable("KUA_AOT_BINARY");
        var info = new ProcessStartInfo("env");
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add(aot ?? "dotnet");
        if (aot is null)
        {
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "kvm-udev-agent.dll"));
        }

        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        return Process.Start(info)!;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
