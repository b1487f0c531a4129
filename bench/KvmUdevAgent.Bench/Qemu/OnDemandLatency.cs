using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using KvmUdevAgent.Bench.EndToEnd;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Bench.Qemu;

/// <summary>
/// What <c>connection: on-demand</c> adds to an attach (issue 11): the same <c>usb-host</c> attach
/// through a persistent and an on-demand <see cref="VmMonitor"/> of one paused QEMU, each on a
/// monitor of its own (QMP on unix sockets, HMP on tcp as in the seed), alternating, N rounds.
/// Run: <c>dotnet run -c Release --project bench/KvmUdevAgent.Bench -- on-demand-latency [N]</c>
/// </summary>
internal static class OnDemandLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        string dir = Directory.CreateTempSubdirectory("kua-bench-ondemand-").FullName;
        int hmpPersistentPort = FreePort();
        int hmpOnDemandPort = FreePort();
        var start = new ProcessStartInfo("qemu-system-x86_64") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in (string[])["-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-S", "-device", "qemu-xhci",
                     "-qmp", "unix:" + Path.Combine(dir, "p.qmp") + ",server=on,wait=off", "-qmp", "unix:" + Path.Combine(dir, "o.qmp") + ",server=on,wait=off",
                     "-monitor", "tcp:127.0.0.1:" + hmpPersistentPort + ",server=on,wait=off", "-mon", "chardev=hmp2,mode=readline",
                     "-chardev", "socket,id=hmp2,host=127.0.0.1,port=" + hmpOnDemandPort + ",server=on,wait=off"])
        {
            start.ArgumentList.Add(argument);
        }

        using Process qemu = Process.Start(start) ?? throw new InvalidOperationException("qemu-system-x86_64 did not start (Debian package qemu-system-x86)");
        try
        {
            var options = new VmMonitorOptions();
            await using var qmpPersistent = new VmMonitor("p", MonitorEndpoint.Unix(Path.Combine(dir, "p.qmp")), MonitorProtocol.Qmp, options);
            await using var qmpOnDemand = new VmMonitor("o", MonitorEndpoint.Unix(Path.Combine(dir, "o.qmp")), MonitorProtocol.Qmp, options with { Connection = VmConnection.OnDemand, ProbeInterval = TimeSpan.FromMinutes(10) });
            await using var hmpPersistent = new VmMonitor("hp", MonitorEndpoint.Tcp("127.0.0.1", hmpPersistentPort), MonitorProtocol.Hmp, options);
            await using var hmpOnDemand = new VmMonitor("ho", MonitorEndpoint.Tcp("127.0.0.1", hmpOnDemandPort), MonitorProtocol.Hmp, options with { Connection = VmConnection.OnDemand, ProbeInterval = TimeSpan.FromMinutes(10) });
            VmMonitor[] monitors = [qmpPersistent, qmpOnDemand, hmpPersistent, hmpOnDemand];
            foreach (VmMonitor monitor in monitors)
            {
                monitor.Start();
                await monitor.WaitConnectedAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            }

            var samples = monitors.ToDictionary(m => m.Name, _ => new List<double>());
            for (int i = 0; i < rounds + 5; i++)
            {
                foreach (VmMonitor monitor in monitors)
                {
                    // One device per monitor (another port each), attached and detached every round.
                    UsbHostDevice.TryCreate(3, "1." + (Array.IndexOf(monitors, monitor) + 1).ToString(CultureInfo.InvariantCulture), new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? device, out _);
                    long t0 = Stopwatch.GetTimestamp();
                    AttachResult result = await monitor.AttachAsync(device!, CancellationToken.None);
                    double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    if (result != AttachResult.Attached)
                    {
                        throw new InvalidOperationException(monitor.Name + ": " + result);
                    }

                    if (i >= 5)
                    {
                        samples[monitor.Name].Add(ms);
                    }

                    await monitor.DetachAsync(device!.Id, CancellationToken.None);
                }
            }

            Console.WriteLine($"usb-host attach latency, ms: median (min–max, n), p90; {rounds} rounds after 5 warm-up, paused TCG QEMU 7.2");
            foreach ((string label, string persistent, string onDemand) in new[] { ("QMP unix", "p", "o"), ("HMP tcp ", "hp", "ho") })
            {
                Console.WriteLine($"  {label} persistent: {Stats.Spread(samples[persistent], "F2")}, p90 {Stats.F(Stats.Percentile(samples[persistent], 90))}");
                Console.WriteLine($"  {label} on-demand:  {Stats.Spread(samples[onDemand], "F2")}, p90 {Stats.F(Stats.Percentile(samples[onDemand], 90))}");
                Console.WriteLine($"  {label} added by on-demand (median): {Stats.F(Stats.Median(samples[onDemand]) - Stats.Median(samples[persistent]))}");
            }

            return 0;
        }
        finally
        {
            qemu.Kill();
            await qemu.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
