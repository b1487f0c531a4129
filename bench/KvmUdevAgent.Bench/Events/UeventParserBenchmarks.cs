using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Bench.Events;

/// <summary>Cost of parsing one datagram into a <see cref="Uevent"/>, per wire format.</summary>
[MemoryDiagnoser]
public class UeventParserBenchmarks
{
    // What a USB flash drive's block device looks like on the wire (about 350 bytes of kernel properties,
    // and the udev version with the ID_* properties udevd adds).
    private static readonly KeyValuePair<string, string>[] s_kernelProperties =
    [
        new("ACTION", "add"),
        new("DEVPATH", "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb"),
        new("SUBSYSTEM", "block"),
        new("MAJOR", "8"),
        new("MINOR", "16"),
        new("DEVNAME", "sdb"),
        new("DEVTYPE", "disk"),
        new("DISKSEQ", "27"),
        new("SEQNUM", "4711"),
    ];

    private static readonly KeyValuePair<string, string>[] s_udevProperties =
    [
        .. s_kernelProperties,
        new("USEC_INITIALIZED", "123456789"),
        new("ID_VENDOR", "Alcor"),
        new("ID_VENDOR_ID", "058f"),
        new("ID_MODEL", "Flash_Drive"),
        new("ID_MODEL_ID", "6387"),
        new("ID_SERIAL", "Alcor_Flash_Drive_576B63C4-0:0"),
        new("ID_SERIAL_SHORT", "576B63C4"),
        new("ID_BUS", "usb"),
        new("ID_USB_INTERFACES", ":080650:"),
        new("ID_FS_LABEL", "WINXP"),
        new("ID_FS_UUID", "1234-ABCD"),
        new("ID_FS_TYPE", "vfat"),
        new("DEVLINKS", "/dev/disk/by-id/usb-Alcor_Flash_Drive_576B63C4-0:0 /dev/disk/by-label/WINXP"),
        new("TAGS", ":systemd:"),
    ];

    private readonly byte[] _kernel = KernelMessageWriter.Write(s_kernelProperties);
    private readonly byte[] _udev = UdevMessageWriter.Write(s_udevProperties);

    [Benchmark]
    public Uevent? ParseKernel()
    {
        UeventParser.TryParse(_kernel, UeventSource.Kernel, 0, out Uevent? e, out _);
        return e;
    }

    [Benchmark]
    public Uevent? ParseUdev()
    {
        UeventParser.TryParse(_udev, UeventSource.Udev, 0, out Uevent? e, out _);
        return e;
    }
}
