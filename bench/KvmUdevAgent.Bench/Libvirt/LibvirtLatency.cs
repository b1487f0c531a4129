using System.Diagnostics;
using System.Globalization;
using KvmUdevAgent.Bench.EndToEnd;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Libvirt;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Libvirt;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.Libvirt;

/// <summary>
/// Attach and detach of a read-only <c>usb-storage</c> loop drive, through libvirt's C API (the
/// agent's libvirt backend: live XML read, device XML, <c>virDomainAttachDeviceFlags</c>; detach
/// until the device-removed event) beside the raw QMP path (the agent's QEMU backend on its own
/// paused QEMU: <c>blockdev-add</c> + <c>device_add</c>; <c>device_del</c> until
/// <c>DEVICE_DELETED</c>, <c>blockdev-del</c>). Both QEMUs are paused TCG q35 with qemu-xhci.
/// Run: <c>sudo dotnet run -c Release --project bench/KvmUdevAgent.Bench -- libvirt-latency [ROUNDS]</c>
/// </summary>
internal static class LibvirtLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30;
        await using LibvirtdProcess libvirtd = await LibvirtdProcess.StartAsync();
        string domainName = await libvirtd.CreateDomainAsync("kua-bench");
        using QemuProcess qemu = await QemuProcess.StartAsync(new QemuOptions());
        await using LoopDevice loopA = await LoopDevice.CreateAsync();
        await using LoopDevice loopB = await LoopDevice.CreateAsync();

        await using var connection = new LibvirtConnection(libvirtd.Uri);
        connection.Start();
        await connection.WaitConnectedAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        using var domain = new LibvirtDomain("bench", domainName, connection);
        await using IMonitorConnection qmp = await MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(qemu.QmpSocket!), MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None);
        var commands = new MonitorCommands(qmp);

        Create(loopA.DevicePath, out BlockAttachRequest viaLibvirt);
        Create(loopB.DevicePath, out BlockAttachRequest viaQmp);
        var libvirtAttach = new List<double>();
        var libvirtDetach = new List<double>();
        var qmpAttach = new List<double>();
        var qmpDetach = new List<double>();
        for (int i = -3; i < rounds; i++)
        {
            // Warm-up rounds (i < 0) are not counted; the two paths alternate so load hits both alike.
            await MeasureAsync(() => domain.AttachAsync(viaLibvirt, CancellationToken.None), () => domain.DetachAsync(viaLibvirt.Id, CancellationToken.None), i >= 0 ? libvirtAttach : null, i >= 0 ? libvirtDetach : null);
            await MeasureAsync(() => commands.AttachAsync(viaQmp, CancellationToken.None), () => commands.DetachAsync(viaQmp.Id, CancellationToken.None), i >= 0 ? qmpAttach : null, i >= 0 ? qmpDetach : null);
        }

        Console.WriteLine($"usb-storage read-only loop drive, {rounds} rounds each after 3 warm-up, paused TCG q35 QEMU 7.2, libvirt 9.0");
        Console.WriteLine("| path | attach median | attach p90 | attach min–max | detach median | detach p90 | detach min–max |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        Row("libvirt C API (virDomainAttachDeviceFlags / DetachDeviceAlias + device-removed event)", libvirtAttach, libvirtDetach);
        Row("raw QMP (blockdev-add + device_add / device_del + DEVICE_DELETED + blockdev-del)", qmpAttach, qmpDetach);
        return 0;
    }

    private static void Create(string devNode, out BlockAttachRequest request)
    {
        if (!BlockAttachRequest.TryCreate(devNode, BlockDeviceModel.UsbStorage, readOnly: true, "bench", "BENCH1", null, out BlockAttachRequest? made, out string? reason))
        {
            throw new InvalidOperationException(reason);
        }

        request = made;
    }

    private static async Task MeasureAsync(Func<Task<AttachResult>> attach, Func<Task<DetachResult>> detach, List<double>? attachTimes, List<double>? detachTimes)
    {
        long start = Stopwatch.GetTimestamp();
        AttachResult attached = await attach();
        double attachMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        start = Stopwatch.GetTimestamp();
        DetachResult detached = await detach();
        double detachMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (attached != AttachResult.Attached || detached != DetachResult.Detached)
        {
            throw new InvalidOperationException($"unexpected outcome: {attached}, {detached}");
        }

        attachTimes?.Add(attachMs);
        detachTimes?.Add(detachMs);
    }

    private static void Row(string path, List<double> attach, List<double> detach) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {path} | {Stats.Percentile(attach, 50):F1} ms | {Stats.Percentile(attach, 90):F1} ms | {attach.Min():F1}–{attach.Max():F1} ms | {Stats.Percentile(detach, 50):F1} ms | {Stats.Percentile(detach, 90):F1} ms | {detach.Min():F1}–{detach.Max():F1} ms |"));
}
