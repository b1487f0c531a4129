using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.State;

namespace KvmUdevAgent.Core.Tests.State;

internal static class StateTestData
{
    public static DeviceKey Flash(string serial = "576B63C4") => new()
    {
        DevPath = "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1.4",
        Vendor = new UsbId(0x058f),
        Product = new UsbId(0x6387),
        Serial = serial,
        BusNum = 2,
        PortPath = "1.4",
    };

    public static AttachmentRecord Attachment(int n, string serial = "576B63C4") => new()
    {
        Device = Flash(serial),
        Vm = "winxp",
        QemuId = $"kua-{n:x8}",
        Kind = AttachmentKind.UsbHost,
        Since = new DateTimeOffset(2026, 11, 26, 6, 0, 0, TimeSpan.Zero).AddSeconds(n),
    };

    public static MountRecord Mount(string label) => new()
    {
        Device = new DeviceKey { DevPath = "/devices/virtual/block/loop7" },
        DevNode = "/dev/loop7",
        MountPoint = "/media/kvm-udev-agent/" + label,
        Since = new DateTimeOffset(2026, 11, 26, 6, 0, 0, TimeSpan.Zero),
    };

    public static TempDir CreateTempDir() => new();

    internal sealed class TempDir : IDisposable
    {
        public TempDir() => Path = Directory.CreateTempSubdirectory("kua-state-").FullName;

        public string Path { get; }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
