using System.Diagnostics;
using System.Globalization;
using KvmUdevAgent.Bench.EndToEnd;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Support.Guest;

namespace KvmUdevAgent.Bench.Qemu;

/// <summary>
/// Plug → the guest reads the drive's label (issue 13): the daemon (<c>source: kernel</c>) routes a
/// real ext4 loop drive as <c>usb-storage</c> to a running TCG test guest (the one the in-guest
/// tests boot, <see cref="LinuxGuest"/>) over QMP; the clock starts just before the synthetic
/// <c>add</c> is written to the loop device's uevent file and stops when the guest's report
/// (polled every 0.1 s in the guest) shows the label and nonce read from the mounted filesystem.
/// Also: until the guest's kernel lists the USB device and the disk (before mounting it), and unplug → gone in the guest.
/// Run: <c>sudo bench/guest-latency.sh [ROUNDS]</c>
/// </summary>
internal static class GuestLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? agent = args.SkipWhile(a => a != "--agent").Skip(1).FirstOrDefault() ?? Environment.GetEnvironmentVariable("KUA_AOT_BINARY");
        if (agent is null || !File.Exists(agent))
        {
            Console.Error.WriteLine("guest-latency: the daemon binary is needed: --agent PATH (bench/guest-latency.sh publishes it)");
            return 64;
        }

        int rounds = args.FirstOrDefault(a => int.TryParse(a, out _)) is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 10;
        await using LinuxGuest guest = await LinuxGuest.StartAsync(MonitorProtocol.Qmp);
        Console.WriteLine($"guest booted in {guest.BootTime.TotalSeconds:F1} s (QEMU start → first report; kernel booted uncompressed through PVH), load {ProcStatus.LoadAverage()}");
        string nonce = Guid.NewGuid().ToString("N");
        await using LoopDevice loop = await LoopDevice.CreateAsync("BENCHLABEL", new Dictionary<string, string> { ["nonce"] = nonce + "\n" });
        await using BenchWorkspace ws = await BenchWorkspace.CreateAsync(syslog: false);
        string token = "g" + Guid.NewGuid().ToString("N")[..12];
        ws.WriteRules($$"""
            rules:
              - name: bench-to-guest
                match: { subsystem: block, kernel: {{loop.Name}}, props: { SYNTH_ARG_RUNID: "{{token}}" } }
                attach: { vm: guest, as: usb-storage }
            """);
        ws.WriteConfig("kernel", "/sys", new Dictionary<string, string> { ["guest"] = guest.Qemu.QmpSocket! });
        await using BenchDaemon daemon = BenchDaemon.Start(agent, ws.ConfigPath, ws.Work, privateNetwork: true);
        await daemon.WaitReadyAsync();
        await daemon.WaitForLogAsync("VM guest reconciled", TimeSpan.FromSeconds(30));

        var usbSeen = new List<double>();
        var diskSeen = new List<double>();
        var labelSeen = new List<double>();
        var gone = new List<double>();
        try
        {
            await MeasureAsync(guest, loop, token, nonce, rounds, usbSeen, diskSeen, labelSeen, gone);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine("daemon log:\n" + daemon.Log);
            throw;
        }

        Console.WriteLine($"usb-storage over QMP into a running TCG guest (Debian 6.1 kernel, q35, qemu-xhci), {rounds} rounds after 2 warm-up, load {ProcStatus.LoadAverage()}; ms: median (min–max, n), p90");
        Console.WriteLine($"  plug → guest lists the USB device:      {Stats.Spread(usbSeen, "F0")}, p90 {Stats.F(Stats.Percentile(usbSeen, 90), "F0")}");
        Console.WriteLine($"  plug → guest lists the SCSI disk:       {Stats.Spread(diskSeen, "F0")}, p90 {Stats.F(Stats.Percentile(diskSeen, 90), "F0")}");
        Console.WriteLine($"  plug → guest read the label and nonce: {Stats.Spread(labelSeen, "F0")}, p90 {Stats.F(Stats.Percentile(labelSeen, 90), "F0")}");
        Console.WriteLine($"  unplug → gone in the guest:            {Stats.Spread(gone, "F0")}, p90 {Stats.F(Stats.Percentile(gone, 90), "F0")}");
        return 0;
    }

    private static async Task MeasureAsync(LinuxGuest guest, LoopDevice loop, string token, string nonce, int rounds, List<double> usbSeen, List<double> diskSeen, List<double> labelSeen, List<double> gone)
    {
        for (int i = -2; i < rounds; i++)
        {
            long start = Stopwatch.GetTimestamp();
            loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));
            GuestReport usb = await guest.WaitForAsync(r => r.Plugged.Any(), "the USB device");
            GuestReport disk = await guest.WaitForAsync(r => r.Disks.Count > 0, "the disk");
            GuestReport label = await guest.WaitForAsync(r => r.DiskWithNonce(nonce) is { Label: "BENCHLABEL" }, "the label");
            if (i >= 0)
            {
                usbSeen.Add(Stopwatch.GetElapsedTime(start, usb.ReceivedAt).TotalMilliseconds);
                diskSeen.Add(Stopwatch.GetElapsedTime(start, disk.ReceivedAt).TotalMilliseconds);
                labelSeen.Add(Stopwatch.GetElapsedTime(start, label.ReceivedAt).TotalMilliseconds);
            }

            long unplug = Stopwatch.GetTimestamp();
            loop.TriggerUevent("remove", Guid.NewGuid(), ("RUNID", token));
            GuestReport empty = await guest.WaitForAsync(r => !r.Plugged.Any() && r.Disks.Count == 0, "the drive gone");
            if (i >= 0)
            {
                gone.Add(Stopwatch.GetElapsedTime(unplug, empty.ReceivedAt).TotalMilliseconds);
            }
        }
    }
}
