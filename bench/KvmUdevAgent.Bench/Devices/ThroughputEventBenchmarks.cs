using System.Globalization;
using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Bench.Devices;

/// <summary>
/// The two threads' work per event of the throughput bench (issue 15), on its own event: one of its
/// 256 USB devices' udevd <c>add</c> datagram. <see cref="Parse"/> is the receive thread's part
/// (datagram → <see cref="Uevent"/>); <see cref="View"/> and <see cref="Identity"/> the pipeline's
/// (the daemon's factory, which holds USB devices from one event to the next).
/// </summary>
[MemoryDiagnoser]
public class ThroughputEventBenchmarks : IDisposable
{
    private SysfsFixture _fixture = null!;
    private DeviceViewFactory _factory = null!;
    private UsbDeviceCache _usbDevices = null!;
    private SysfsDevice _sysfs = null!;
    private byte[] _datagram = null!;
    private Uevent _event = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new SysfsFixture();
        // As ThroughputBenchmark builds its devices (the 43rd of them).
        int k = 42;
        SysfsFixture.Node node = _fixture.UsbDevice(1 + (k / 100), $"{1 + (k % 100 / 10)}.{1 + (k % 10)}", "abcd", k.ToString("x4", CultureInfo.InvariantCulture))
            .Strings("Bench", "Stick", "S" + k.ToString("D6", CultureInfo.InvariantCulture))
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .Add().UsbDevice;
        _datagram = UdevMessageWriter.Write(_fixture.UdevProperties(node, "add", 10_042));
        if (!UeventParser.TryParse(_datagram, UeventSource.Udev, 0, out Uevent? e, out RejectReason reason))
        {
            throw new InvalidOperationException($"the bench's datagram is rejected: {reason}");
        }

        _event = e;
        _factory = new DeviceViewFactory(_fixture.Root, cacheUsbDevices: true);
        _usbDevices = new UsbDeviceCache(_fixture.Root);
        _sysfs = new SysfsDevice(_fixture.Root, node.DevPath);
        _factory.Create(_event);
        DeviceViewFactory.BuildIdentity(_event, _sysfs, _usbDevices);
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.Dispose();

    public void Dispose()
    {
        _fixture?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public Uevent? Parse()
    {
        UeventParser.TryParse(_datagram, UeventSource.Udev, 0, out Uevent? e, out _);
        return e;
    }

    [Benchmark]
    public DeviceView View() => _factory.Create(_event);

    [Benchmark]
    public DeviceIdentity Identity() => DeviceViewFactory.BuildIdentity(_event, _sysfs, _usbDevices);
}
