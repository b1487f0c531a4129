using System.Diagnostics;
using System.Globalization;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// Item 2: N distinct USB devices (fixture sysfs: 5 buses × 10 hubs × 10 ports, one mass-storage
/// interface each; the VM has USB hubs with room for them) plugged at once: every plug's udev-format events (add, bind of the interface and
/// the device) are injected back to back into the daemon's private network namespace; the clock
/// runs from the first datagram until QEMU's qom-list shows all N <c>usb-host</c> devices.
/// Baseline: N synthetic uevents written at once to one (and to four) loop devices, each running a
/// RUN+= script that sends one <c>device_add usb-host,...</c> to the VM's HMP socket with socat
/// (udevd cannot be fed made-up USB events: it takes kernel-group messages from the kernel only).
/// </summary>
internal static class StormBenchmark
{
    private const int DevicesPerBus = 100;

    /// <summary>
    /// A <c>usb-host</c> takes a USB port in QEMU even while its host device is absent, and
    /// qemu-xhci has 4 USB 2 ports: 100 <c>usb-hub</c>s (4 → 32 → 64, 704 free ports) make room for 500.
    /// </summary>
    private static QemuOptions WithHubs(QemuOptions options)
    {
        var args = new List<string>();
        for (int a = 1; a <= 4; a++)
        {
            args.AddRange(["-device", $"usb-hub,bus=xhci.0,port={a}"]);
            for (int b = 1; b <= 8; b++)
            {
                args.AddRange(["-device", $"usb-hub,bus=xhci.0,port={a}.{b}"]);
                for (int c = 1; c <= 2; c++)
                {
                    args.AddRange(["-device", $"usb-hub,bus=xhci.0,port={a}.{b}.{c}"]);
                }
            }
        }

        return options with { ExtraArguments = args };
    }

    public static async Task RunAsync(string agentBinary, int devices, int runs, Report report)
    {
        Console.WriteLine($"== storm: {devices} devices at once, {runs} runs, load {ProcStatus.LoadAverage()}");
        var agent = new List<double>();
        int agentLost = 0;
        for (int run = 0; run < runs; run++)
        {
            (double seconds, int lost) = await AgentOnceAsync(agentBinary, devices);
            Console.WriteLine($"  agent run {run + 1}: {Stats.F(seconds, "F3")} s, lost {lost}");
            if (lost == 0)
            {
                agent.Add(seconds);
            }

            agentLost += lost;
        }

        if (Environment.GetEnvironmentVariable("KUA_BENCH_AGENT_ONLY") == "1")
        {
            return;
        }

        var udevOne = new List<double>();
        var udevFour = new List<double>();
        int udevLost = 0;
        for (int run = 0; run < runs; run++)
        {
            foreach ((int loops, List<double> samples) in new[] { (1, udevOne), (4, udevFour) })
            {
                (double seconds, int lost) = await UdevOnceAsync(devices, loops);
                Console.WriteLine($"  udevd+script over {loops} loop device(s), run {run + 1}: {Stats.F(seconds, "F3")} s, lost {lost}");
                if (lost == 0)
                {
                    samples.Add(seconds);
                }

                udevLost += lost;
            }
        }

        double a = Stats.Median(agent), u1 = Stats.Median(udevOne), u4 = Stats.Median(udevFour);
        report.Row($"Storm: {devices} devices at once → all in QEMU (s)", Stats.Spread(agent, "F3"), $"{Stats.Spread(udevOne, "F2")} on one device; {Stats.Spread(udevFour, "F2")} over four", $"{Stats.F(u1 / a, "F1")}× / {Stats.F(u4 / a, "F1")}×", "≤ 0.4", a <= 0.4);
        report.Row($"Storm lost (of {devices}, all runs)", agentLost.ToString(CultureInfo.InvariantCulture), udevLost.ToString(CultureInfo.InvariantCulture), "-", "0", agentLost == 0);
    }

    private static async Task<(double Seconds, int Lost)> AgentOnceAsync(string agentBinary, int devices)
    {
        using QemuProcess qemu = await QemuProcess.StartAsync(WithHubs(new QemuOptions()));
        using var sysfs = new SysfsFixture();
        await using BenchWorkspace ws = await BenchWorkspace.CreateAsync(syslog: true);
        ws.WriteRules("""
            rules:
              - name: bench-storm
                match:
                  subsystem: usb
                  devtype: usb_device
                  vendor: "abcd"
                  interfaces: ["08:*:*"]
                attach:
                  vm: winxp
            """);
        ws.WriteConfig("udev", sysfs.Root, new Dictionary<string, string> { ["winxp"] = qemu.QmpSocket! });
        await using BenchDaemon daemon = BenchDaemon.Start(agentBinary, ws.ConfigPath, ws.Work, privateNetwork: true);
        await daemon.WaitReadyAsync();
        await daemon.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        // Plugged after start (not coldplug): the fixture tree first, the events all at once.
        var datagrams = new List<byte[]>();
        ulong seq = 1000;
        for (int k = 0; k < devices; k++)
        {
            int bus = 1 + (k / DevicesPerBus);
            int hub = 1 + (k % DevicesPerBus / 10);
            int port = 1 + (k % 10);
            SysfsFixture.Drive drive = sysfs.UsbDevice(bus, $"{hub}.{port}", "abcd", k.ToString("x4", CultureInfo.InvariantCulture))
                .Strings("Bench", "Stick", "S" + k.ToString("D6", CultureInfo.InvariantCulture))
                .Interface(0x08, 0x06, 0x50, "usb-storage")
                .Add();
            foreach (Uevent e in sysfs.PlugEvents(drive, udev: true))
            {
                datagrams.Add(UdevMessageWriter.Write(WithSeqNum(e, seq++)));
            }
        }

        await using HarnessQmp qmp = await HarnessQmp.ConnectAsync(qemu);
        using NetnsThread netns = NetnsThread.Enter(daemon.Pid);
        using var injector = new UeventInjector(netns);
        long t0 = Stopwatch.GetTimestamp();
        foreach (byte[] d in datagrams)
        {
            injector.Send(d, NetlinkGroup.Udev);
        }

        long? done = await qmp.PollUntilAsync("kua-u", names => names.Count >= devices, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10));
        int present = (await qmp.PeripheralsAsync("kua-u")).Count;
        double seconds = done is { } t ? Stopwatch.GetElapsedTime(t0, t).TotalSeconds : double.NaN;
        return (seconds, devices - present);
    }

    private static Uevent WithSeqNum(Uevent e, ulong seq)
    {
        var props = new List<KeyValuePair<string, string>>();
        foreach (KeyValuePair<string, string> p in e.Properties)
        {
            props.Add(p.Key == "SEQNUM" ? new(p.Key, seq.ToString(CultureInfo.InvariantCulture)) : p);
        }

        return Uevent.Create(UeventSource.Udev, props);
    }

    private static async Task<(double Seconds, int Lost)> UdevOnceAsync(int devices, int loopCount)
    {
        string token = "kua" + Guid.NewGuid().ToString("N")[..10];
        var loops = new List<LoopDevice>();
        using QemuProcess qemu = await QemuProcess.StartAsync(WithHubs(new QemuOptions { HmpUnix = true }));
        string scripts = Directory.CreateTempSubdirectory("kua-bench-scripts-").FullName;
        try
        {
            for (int i = 0; i < loopCount; i++)
            {
                loops.Add(await LoopDevice.CreateAsync());
            }

            string script = Path.Combine(scripts, "udev-VM.sh");
            File.WriteAllText(script, "#!/bin/sh\nprintf 'device_add usb-host,id=uds%s,hostbus=%s,hostport=%s.%s,vendorid=0xabcd,productid=0x%s\\n' \"$1\" \"$2\" \"$3\" \"$4\" \"$5\" | socat - UNIX-CONNECT:" + qemu.HmpSocket + "\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await using PrivateUdevd udevd = await PrivateUdevd.StartAsync(
                $"ACTION==\"add\", SUBSYSTEM==\"block\", ENV{{SYNTH_ARG_RUNID}}==\"{token}\", RUN+=\"{script} $env{{SYNTH_ARG_N}} $env{{SYNTH_ARG_B}} $env{{SYNTH_ARG_H}} $env{{SYNTH_ARG_P}} $env{{SYNTH_ARG_PID}}\"\n");
            await using HarnessQmp qmp = await HarnessQmp.ConnectAsync(qemu);
            var writes = new List<(LoopDevice Loop, (string, string)[] Args)>();
            for (int k = 0; k < devices; k++)
            {
                writes.Add((loops[k % loopCount], [
                    ("RUNID", token), ("N", k.ToString(CultureInfo.InvariantCulture)),
                    ("B", (1 + (k / DevicesPerBus)).ToString(CultureInfo.InvariantCulture)),
                    ("H", (1 + (k % DevicesPerBus / 10)).ToString(CultureInfo.InvariantCulture)),
                    ("P", (1 + (k % 10)).ToString(CultureInfo.InvariantCulture)),
                    ("PID", k.ToString("x4", CultureInfo.InvariantCulture))]));
            }

            long t0 = Stopwatch.GetTimestamp();
            foreach ((LoopDevice loop, (string, string)[] args) in writes)
            {
                loop.TriggerUevent("add", Guid.NewGuid(), args);
            }

            long? done = await qmp.PollUntilAsync("uds", names => names.Count >= devices, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(10));
            int present = (await qmp.PeripheralsAsync("uds")).Count;
            double seconds = done is { } t ? Stopwatch.GetElapsedTime(t0, t).TotalSeconds : double.NaN;
            await udevd.SettleAsync();
            return (seconds, devices - present);
        }
        finally
        {
            foreach (LoopDevice loop in loops)
            {
                await loop.DisposeAsync();
            }

            Directory.Delete(scripts, recursive: true);
        }
    }
}
