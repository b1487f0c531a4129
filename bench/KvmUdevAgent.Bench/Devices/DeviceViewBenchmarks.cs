using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Bench.Devices;

/// <summary>
/// Cost of turning one event into a device view on the fixture drive: from udevd's properties,
/// from sysfs alone (kernel source: parent walk and attribute reads), and the tracker around it.
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
}
