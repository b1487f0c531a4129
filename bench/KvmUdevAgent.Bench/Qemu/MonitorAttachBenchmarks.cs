using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Bench.Qemu;

/// <summary>
/// Attach + detach of a <c>usb-host</c> device against a real paused QEMU, over QMP and over HMP
/// (both on unix sockets): the monitor's share of "event to device present in QEMU".
/// Run: <c>dotnet run -c Release --project bench/KvmUdevAgent.Bench -- --filter '*MonitorAttach*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class MonitorAttachBenchmarks
{
    private string _dir = "";
    private Process? _qemu;
    private IMonitorConnection? _qmp;
    private IMonitorConnection? _hmp;
    private MonitorCommands _qmpCommands = null!;
    private MonitorCommands _hmpCommands = null!;
    private UsbHostDevice _qmpDevice = null!;
    private UsbHostDevice _hmpDevice = null!;
    private UsbHostDevice _qmpDevicePresent = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("kua-bench-qemu-").FullName;
        string qmpSocket = Path.Combine(_dir, "qmp.sock");
        string hmpSocket = Path.Combine(_dir, "hmp.sock");
        var start = new ProcessStartInfo("qemu-system-x86_64") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in (string[])["-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-S", "-device", "qemu-xhci",
                     "-qmp", "unix:" + qmpSocket + ",server=on,wait=off", "-monitor", "unix:" + hmpSocket + ",server=on,wait=off"])
        {
            start.ArgumentList.Add(argument);
        }

        _qemu = Process.Start(start) ?? throw new InvalidOperationException("qemu-system-x86_64 did not start (Debian package qemu-system-x86)");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(File.Exists(qmpSocket) && File.Exists(hmpSocket)))
        {
            if (DateTime.UtcNow > deadline || _qemu.HasExited)
            {
                throw new InvalidOperationException("QEMU's monitors did not appear: " + _qemu.StandardError.ReadToEnd());
            }

            Thread.Sleep(20);
        }

        _qmp = MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(qmpSocket), MonitorProtocol.Qmp, TimeSpan.FromSeconds(5), null, CancellationToken.None).GetAwaiter().GetResult();
        _hmp = MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(hmpSocket), MonitorProtocol.Hmp, TimeSpan.FromSeconds(5), null, CancellationToken.None).GetAwaiter().GetResult();
        _qmpCommands = new MonitorCommands(_qmp);
        _hmpCommands = new MonitorCommands(_hmp);
        UsbHostDevice.TryCreate(2, "1.4", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? qmpDevice, out _);
        UsbHostDevice.TryCreate(2, "1.5", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? hmpDevice, out _);
        UsbHostDevice.TryCreate(2, "1.6", new UsbId(0x058f), new UsbId(0x6387), out UsbHostDevice? present, out _);
        _qmpDevice = qmpDevice!;
        _hmpDevice = hmpDevice!;
        _qmpDevicePresent = present!;
        _qmpCommands.AttachUsbHostAsync(_qmpDevicePresent, CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _qmp?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _hmp?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_qemu is not null)
        {
            _qemu.Kill();
            _qemu.WaitForExit();
            _qemu.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public async Task QmpAttachDetachUsbHost()
    {
        await _qmpCommands.AttachUsbHostAsync(_qmpDevice, CancellationToken.None);
        await _qmpCommands.DetachAsync(_qmpDevice.Id, CancellationToken.None);
    }

    [Benchmark]
    public async Task HmpAttachDetachUsbHost()
    {
        await _hmpCommands.AttachUsbHostAsync(_hmpDevice, CancellationToken.None);
        await _hmpCommands.DetachAsync(_hmpDevice.Id, CancellationToken.None);
    }

    /// <summary>An attach that finds the device already there (a repeated event): the idempotence check alone.</summary>
    [Benchmark]
    public async Task QmpAttachAlreadyPresent() => await _qmpCommands.AttachUsbHostAsync(_qmpDevicePresent, CancellationToken.None);
}
