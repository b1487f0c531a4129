using System.Globalization;
using System.Text.Json;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Reliability;
using KvmUdevAgent.Tests.Support;
using Xunit.Abstractions;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 17, defect 7: per-device queues were unbounded. 100,000 <c>change</c> events (2 KB each)
/// for one device while its hook ran took the daemon's RSS from 22 to 209 MB. The events here are
/// udev-format messages injected into the daemon's own network namespace; the device is a sysfs
/// fixture; the hooks are real processes; the memory is what /proc says of the daemon.
/// </summary>
public sealed class Issue17_DeviceQueueTests(ITestOutputHelper output)
{
    private const int Changes = 100_000;
    private const int Batch = 2_000;
    private const int PaddingBytes = 2_000;
    private const long AllowedGrowth = 96L * 1024 * 1024;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Issue17_ChangeStormWhileHookRuns_MemoryBoundedAndOnlyNewestChangeRuns()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        string hooks = Path.Combine(env.Work, "hooks");
        Directory.CreateDirectory(hooks);
        string hold = HookScenarioTests.Script(hooks, "hold.sh", "#!/bin/sh\necho $$ > \"$0.pid\"\nwhile [ ! -e \"$0.release\" ]; do sleep 0.1; done\n");
        string record = HookScenarioTests.Script(hooks, "record.sh", "#!/bin/sh\necho \"$KUA_SEQNUM\" >> \"$0.log\"\n");
        env.WriteRules("30-hooks.yaml", $$"""
            rules:
              - name: hold
                match: { action: add, subsystem: usb, devtype: usb_device }
                hook: { run: ["{{hold}}"], timeout: 10m }
              - name: record-change
                match: { action: change, subsystem: usb, devtype: usb_device }
                hook: { run: ["{{record}}"] }
            """);
        env.WriteConfig(receiveBuffer: "64MiB");
        DaemonProcess daemon = await env.StartDaemonAsync();
        var drive = env.Sysfs.UsbDevice(3, "2", "0781", "5567").Strings("SanDisk", "Cruzer", "C0FFEE").Interface(8, 6, 0x50, "usb-storage").Add();
        env.InjectUdev(env.Sysfs.PlugEvents(drive, udev: true));
        await WaitForFileAsync(hold + ".pid");
        long before = ProcessMemory.Rss(daemon.Pid);

        // The storm, paced so that the netlink buffer never overflows: every event reaches the daemon.
        long received = DaemonStatus.Events(await DaemonStatus.QueryAsync(env));
        string padding = new('p', PaddingBytes);
        for (int start = 0; start < Changes; start += Batch)
        {
            env.InjectUdev(Enumerable.Range(start, Batch).Select(i => Change(env, drive, Seq(i), padding)));
            long expected = received + start + Batch;
            await DaemonStatus.WaitForAsync(env, s => DaemonStatus.Events(s) >= expected, s_timeout);
        }

        long after = ProcessMemory.Rss(daemon.Pid);
        output.WriteLine($"daemon RSS with the add hook running: before the storm {ProcessMemory.Megabytes(before)}, after {Changes} change events {ProcessMemory.Megabytes(after)}");
        Assert.True(after - before < AllowedGrowth, $"the daemon's RSS grew from {ProcessMemory.Megabytes(before)} to {ProcessMemory.Megabytes(after)} queueing change events behind a running hook");

        // Every change but the newest was superseded while the add's hook still ran; then the hook ends.
        JsonElement status = await DaemonStatus.WaitForAsync(env, s => Coalesced(s) >= Changes - 1, s_timeout);
        Assert.Equal(Changes - 1, Coalesced(status));
        Assert.False(File.Exists(record + ".log"), "a change hook ran before the add's hook ended");
        await File.WriteAllTextAsync(hold + ".release", string.Empty);

        string newest = Seq(Changes - 1).ToString(CultureInfo.InvariantCulture);
        await env.Syslog.WaitForAsync(m => m.MsgId == "device.hook" && m.Element("kua@32473")["rule"] == "record-change", 1, s_timeout);
        Assert.Equal([newest], (await File.ReadAllTextAsync(record + ".log")).TrimEnd('\n').Split('\n'));
    }

    private static long Coalesced(JsonElement status) => status.GetProperty("counters").GetProperty("coalesced").GetInt64();

    private static ulong Seq(int i) => 1_000_000 + (ulong)i;

    private static Uevent Change(DaemonEnvironment env, Core.Tests.Devices.SysfsFixture.Drive drive, ulong seq, string padding) =>
        Uevent.Create(UeventSource.Udev, [.. env.Sysfs.UdevProperties(drive.UsbDevice, "change", seq), new("KUA_TEST_PADDING", padding)]);

    private static async Task WaitForFileAsync(string path)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (!File.Exists(path))
        {
            Assert.True(DateTime.UtcNow < deadline, path + " never appeared");
            await Task.Delay(25);
        }
    }
}
