using System.Globalization;
using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Bench.Devices;

/// <summary>
/// Cost of turning one event into a device view on the fixture drive: from udevd's properties,
/// from sysfs alone (kernel source: parent walk and attribute reads), and the tracker around it.
/// The <c>ThroughputEvent*</c> ones are the two threads' work per event of the throughput bench
/// (issue 15), on its own event (one of its 256 USB devices' udevd <c>add</c> datagram): the receive
/// thread's parse, and the pipeline's view and identity with the daemon's factory (which holds USB
/// devices from one event to the next).
/// </summary>
[MemoryDiagnoser]
public class DeviceViewBenchmarks : IDisposable
{
    private SysfsFixture _fixture = null!;
    private DeviceViewFactory _factory = null!;
    private Uevent _udevPartition = null!;
    private Uevent _kernelPartition = null!;
    private Uevent _udevUsbDevice = null!;
    private Uevent _udevRemove = null!;
    private DeviceViewFactory _daemonFactory = null!;
    private UsbDeviceCache _usbDevices = null!;
    private SysfsDevice _throughputSysfs = null!;
    private byte[] _throughputDatagram = null!;
    private Uevent _throughputEvent = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new SysfsFixture();
        var drive = _fixture.AddSeedFlashDrive();
        _factory = new DeviceViewFactory(_fixture.Root);
        _udevPartition = _fixture.UdevEvent(drive.Partition!);
        _kernelPartition = _fixture.KernelEvent(drive.Partition!);
        _udevUsbDevice = _fixture.UdevEvent(drive.UsbDevice);
        _udevRemove = _fixture.UdevEvent(drive.UsbDevice, "remove");

        // As ThroughputBenchmark builds its devices (the 43rd of them).
        int k = 42;
        SysfsFixture.Node node = _fixture.UsbDevice(1 + (k / 100), $"{1 + (k % 100 / 10)}.{1 + (k % 10)}", "abcd", k.ToString("x4", CultureInfo.InvariantCulture))
            .Strings("Bench", "Stick", "S" + k.ToString("D6", CultureInfo.InvariantCulture))
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .Add().UsbDevice;
        _throughputDatagram = UdevMessageWriter.Write(_fixture.UdevProperties(node, "add", 10_042));
        if (!UeventParser.TryParse(_throughputDatagram, UeventSource.Udev, 0, out Uevent? e, out RejectReason reason))
        {
            throw new InvalidOperationException($"the bench's datagram is rejected: {reason}");
        }

        _throughputEvent = e;
        _daemonFactory = new DeviceViewFactory(_fixture.Root, cacheUsbDevices: true);
        _usbDevices = new UsbDeviceCache(_fixture.Root);
        _throughputSysfs = new SysfsDevice(_fixture.Root, node.DevPath);
        _daemonFactory.Create(_throughputEvent);
        DeviceViewFactory.BuildIdentity(_throughputEvent, _throughputSysfs, _usbDevices);
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.Dispose();

    public void Dispose()
    {
        _fixture?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public DeviceView UdevUsbDevice() => _factory.Create(_udevUsbDevice);

    [Benchmark]
    public DeviceView UdevPartition() => _factory.Create(_udevPartition);

    [Benchmark]
    public DeviceView KernelPartitionFromSysfs() => _factory.Create(_kernelPartition);

    [Benchmark]
    public async ValueTask<DeviceView?> TrackerAddRemove()
    {
        var tracker = new DeviceTracker();
        await tracker.ObserveAsync(_udevUsbDevice, _factory, CancellationToken.None);
        return (await tracker.ObserveAsync(_udevRemove, _factory, CancellationToken.None)).View;
    }

    [Benchmark]
    public Uevent? ThroughputEventParse()
    {
        UeventParser.TryParse(_throughputDatagram, UeventSource.Udev, 0, out Uevent? e, out _);
        return e;
    }

    [Benchmark]
    public DeviceView ThroughputEventView() => _daemonFactory.Create(_throughputEvent);

    [Benchmark]
    public DeviceIdentity ThroughputEventIdentity() => DeviceViewFactory.BuildIdentity(_throughputEvent, _throughputSysfs, _usbDevices);
}
