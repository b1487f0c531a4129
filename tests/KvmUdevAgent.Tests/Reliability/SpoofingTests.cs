using System.Collections.Concurrent;
using CsCheck;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Daemon;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>
/// Issue 7, reliability 1: against the running daemon, bursts of generated datagrams that must be
/// dropped — non-root senders on the udev group, user-space senders on the kernel group, bad magic,
/// truncated headers, <c>properties_off</c> past the end, missing NULs — each counted in
/// <c>status</c>'s <c>dropped</c>, none routed (many are real plugs of a drive a rule attaches), a
/// rate-limited <c>source.reject</c> audit warning, and the daemon still routes the next real event.
/// </summary>
public sealed class SpoofingTests
{
    private const string SeedId = "kua-u2-1.4-058f6387";

    // The daemon's receive buffer holds a few thousand small datagrams; sending in batches and
    // waiting for the count keeps a kernel-side overflow (which would lose datagrams uncounted,
    // and is tested on its own in FaultTests) out of this test.
    private const int Batch = 500;

    [Fact]
    public async Task UdevGroup_TenThousandMalformedOrSpoofed_AllDroppedAndCounted_SeedDriveStillAttached()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-flash.yaml", """
            rules:
              - name: flash-to-winxp
                match: { subsystem: usb, devtype: usb_device, vendor: "058f", product: "6387", serial: "576B63C4" }
                attach: { vm: winxp }
            """);
        env.WriteConfig();
        await env.StartDaemonAsync();
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));

        // The drive is in sysfs, so a spoofed plug that got through would really be attached.
        SysfsFixture.Drive seed = env.Sysfs.AddSeedFlashDrive();
        IReadOnlyList<Uevent> plug = env.Sysfs.PlugEvents(seed, udev: true);
        byte[][] valid = [.. plug.Select(UdevMessageWriter.Write)];
        List<MalformedDatagram> datagrams = Generate(MalformedDatagrams.ForUdevGroup(valid), 10_000);
        foreach (MalformedDatagram d in datagrams.Where(d => d.Uid == 0))
        {
            Assert.False(UeventParser.TryParse(d.Bytes, UeventSource.Udev, 0, out _, out _), "the generator made a valid message: " + d);
        }

        var before = await DaemonStatus.QueryAsync(env);
        await SendInBatchesAsync(env, datagrams, NetlinkGroup.Udev, DaemonStatus.Dropped(before));

        var after = await DaemonStatus.CliAsync(env);
        Assert.Equal(DaemonStatus.Dropped(before) + datagrams.Count, DaemonStatus.Dropped(after));
        Assert.Equal(DaemonStatus.Events(before), DaemonStatus.Events(after));
        Assert.Empty(await env.AgentDevicesAsync());

        env.InjectUdev(plug);
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));
        Assert.Equal([SeedId], (await env.AgentDevicesAsync()).Keys);
        Assert.False(env.Daemon!.HasExited);

        // Issue7_SourceRejectTests: the audit trail says so, with the reason, without one record per datagram.
        var rejects = await env.Syslog.WaitForAsync(m => m.MsgId == "source.reject", 1, TimeSpan.FromSeconds(10));
        Assert.InRange(rejects.Count, 1, 20);
        Assert.All(rejects, r =>
        {
            Assert.Equal(4, int.Parse(r.Pri, System.Globalization.CultureInfo.InvariantCulture) % 8); // warning
            Assert.True(Enum.TryParse(r.Element("kua.x@32473")["reason"], out RejectReason reason) && reason != RejectReason.None, r.Raw);
        });
    }

    [Fact]
    public async Task KernelGroup_UserSpaceSendersAndMalformed_AllDropped_RealKernelEventStillRunsHook()
    {
        string token = "t" + Guid.NewGuid().ToString("N")[..12];
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        string record = Path.Combine(env.Work, "record.sh");
        File.WriteAllText(record, "#!/bin/sh\nprintf '%s\\n' \"$1\" >> \"$0.calls\"\n");
        File.SetUnixFileMode(record, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        env.WriteRules("20-hook.yaml", $$"""
            rules:
              - name: runid
                match: { subsystem: block, action: add, props: { SYNTH_ARG_RUNID: "{{token}}" } }
                hook: { run: ["{{record}}", "{props.SYNTH_UUID}"] }
            """);
        env.WriteConfig(source: "kernel", sysfsRoot: "/sys");
        await env.StartDaemonAsync();
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.start", 1, TimeSpan.FromSeconds(10));

        // Exactly what the kernel would send for this loop device and token, but from user space.
        string devPath = new DirectoryInfo("/sys/class/block/" + loop.Name).ResolveLinkTarget(true)!.FullName["/sys".Length..];
        byte[][] valid = [.. Enumerable.Range(0, 8).Select(i => KernelMessageWriter.Write(
        [
            new("ACTION", "add"), new("DEVPATH", devPath), new("SUBSYSTEM", "block"), new("DEVNAME", loop.Name), new("DEVTYPE", "disk"),
            new("SYNTH_UUID", "spoofed" + i), new("SYNTH_ARG_RUNID", token), new("SEQNUM", (900_000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ]))];
        List<MalformedDatagram> datagrams = Generate(MalformedDatagrams.ForKernelGroup(valid), 2_000);

        var before = await DaemonStatus.QueryAsync(env);
        await SendInBatchesAsync(env, datagrams, NetlinkGroup.Kernel, DaemonStatus.Dropped(before));
        var after = await DaemonStatus.CliAsync(env);
        Assert.Equal(DaemonStatus.Dropped(before) + datagrams.Count, DaemonStatus.Dropped(after));

        Guid real = Guid.NewGuid();
        loop.TriggerUevent("add", real, ("RUNID", token));
        await env.Syslog.WaitForAsync(m => m.MsgId == "device.hook", 1, TimeSpan.FromSeconds(20));
        string[] calls = File.ReadAllLines(record + ".calls");
        Assert.True(calls.SequenceEqual([real.ToString()]), $"hook calls: {string.Join(", ", calls)}\ndaemon log:\n{env.Daemon!.Stderr}");
        var rejects = await env.Syslog.WaitForAsync(m => m.MsgId == "source.reject", 1, TimeSpan.FromSeconds(10));
        Assert.All(rejects, r => Assert.Equal("Spoofed", r.Element("kua.x@32473")["reason"]));
    }

    private static List<MalformedDatagram> Generate(Gen<MalformedDatagram> gen, int count)
    {
        var all = new ConcurrentQueue<MalformedDatagram>();
        gen.Sample(all.Enqueue, iter: count, threads: 1);
        Assert.Equal(count, all.Count);
        return [.. all];
    }

    private static async Task SendInBatchesAsync(DaemonEnvironment env, List<MalformedDatagram> datagrams, uint group, long droppedBefore)
    {
        for (int start = 0; start < datagrams.Count; start += Batch)
        {
            foreach (MalformedDatagram d in datagrams.Skip(start).Take(Batch))
            {
                env.InjectRaw(d.Bytes, group, d.Uid);
            }

            long expected = droppedBefore + Math.Min(start + Batch, datagrams.Count);
            await DaemonStatus.WaitForAsync(env, s => DaemonStatus.Dropped(s) >= expected, TimeSpan.FromSeconds(20));
        }
    }
}
