using System.Xml.Linq;
using CsCheck;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Libvirt;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Libvirt;

public sealed class LibvirtDeviceXmlTests
{
    private static readonly LiveDomain s_live = new([], new HashSet<string>(StringComparer.Ordinal) { "sda", "vda" }, HasUsbController: true);

    [Fact]
    public void UsbHost_NamesVendorProductBusAndDevice_NeverStartupPolicy()
    {
        Assert.True(UsbHostDevice.TryCreate(2, "1.4", Id("058f"), Id("6387"), out UsbHostDevice? device, out _));
        string xml = LibvirtDeviceXml.UsbHost(device with { DevNum = 5 }, s_live, "winxp");
        Assert.Equal(
            "<hostdev mode=\"subsystem\" type=\"usb\" managed=\"no\"><source><vendor id=\"0x058f\" /><product id=\"0x6387\" /><address bus=\"2\" device=\"5\" /></source><alias name=\"ua-kua-u2-1_4-058f6387\" /></hostdev>",
            xml);
        Assert.DoesNotContain("startupPolicy", xml, StringComparison.Ordinal);
    }

    [Fact]
    public void UsbHost_NoDeviceNumber_Refuses()
    {
        Assert.True(UsbHostDevice.TryCreate(2, "1.4", Id("058f"), Id("6387"), out UsbHostDevice? device, out _));
        var e = Assert.Throws<LibvirtException>(() => LibvirtDeviceXml.UsbHost(device, s_live, "winxp"));
        Assert.Contains("no device number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disk_UsbReadOnly_FreeTargetRemovableSerialAlias()
    {
        Assert.True(BlockAttachRequest.TryCreate("/dev/loop3", BlockDeviceModel.UsbStorage, true, "k", "AB-12.x y", null, out BlockAttachRequest? fixedDisk, out _));
        Assert.Equal("off", (string?)XElement.Parse(LibvirtDeviceXml.Disk(fixedDisk, s_live, "winxp")).Element("target")!.Attribute("removable"));
        BlockAttachRequest request = fixedDisk with { Removable = true };
        XElement disk = XElement.Parse(LibvirtDeviceXml.Disk(request, s_live, "winxp"), LoadOptions.PreserveWhitespace);
        Assert.Equal("block", (string?)disk.Attribute("type"));
        Assert.Equal("/dev/loop3", (string?)disk.Element("source")!.Attribute("dev"));
        Assert.Equal("sdb", (string?)disk.Element("target")!.Attribute("dev"));
        Assert.Equal("usb", (string?)disk.Element("target")!.Attribute("bus"));
        Assert.Equal("on", (string?)disk.Element("target")!.Attribute("removable"));
        Assert.NotNull(disk.Element("readonly"));
        Assert.Equal("AB-12.x y", (string?)disk.Element("serial"));
        Assert.Equal("ua-" + request.Id, (string?)disk.Element("alias")!.Attribute("name"));
    }

    [Fact]
    public void Disk_Virtio_TargetVdNotRemovable()
    {
        Assert.True(BlockAttachRequest.TryCreate("/dev/loop3", BlockDeviceModel.VirtioBlk, false, "k", null, null, out BlockAttachRequest? request, out _));
        XElement disk = XElement.Parse(LibvirtDeviceXml.Disk(request, s_live with { HasUsbController = false }, "winxp"));
        Assert.Equal("vdb", (string?)disk.Element("target")!.Attribute("dev"));
        Assert.Equal("virtio", (string?)disk.Element("target")!.Attribute("bus"));
        Assert.Null(disk.Element("target")!.Attribute("removable"));
        Assert.Null(disk.Element("readonly"));
    }

    [Fact]
    public void Disk_NoUsbController_SaysWhatToAdd()
    {
        Assert.True(BlockAttachRequest.TryCreate("/dev/loop3", BlockDeviceModel.UsbStorage, false, "k", null, null, out BlockAttachRequest? request, out _));
        var e = Assert.Throws<LibvirtException>(() => LibvirtDeviceXml.Disk(request, s_live with { HasUsbController = false }, "winxp"));
        Assert.Equal("libvirt domain 'winxp' has no USB controller; add one to its definition (virsh edit: <controller type='usb' model='qemu-xhci'/>) and restart it", e.Message);
    }

    [Fact]
    public void Disk_HostileSerial_NeverAddsElementsOrAttributes()
    {
        string[] crafted = ["</serial><source dev='/dev/sda'/><serial>", "\"/><readonly/>", "x&y<z>", "AB-12"];
        HostileStrings.Any.Sample(hostile =>
        {
            foreach (string serial in crafted.Append(hostile))
            {
                Assert.True(BlockAttachRequest.TryCreate("/dev/loop3", BlockDeviceModel.UsbStorage, false, serial, serial, null, out BlockAttachRequest? request, out _));
                XElement disk = XElement.Parse(LibvirtDeviceXml.Disk(request, s_live, "winxp"), LoadOptions.PreserveWhitespace);
                Assert.Equal(["driver", "source", "target", .. (disk.Element("serial") is null ? Array.Empty<string>() : ["serial"]), "alias"], disk.Elements().Select(e => e.Name.LocalName));
                Assert.Equal(["dev"], disk.Element("source")!.Attributes().Select(a => a.Name.LocalName));
                Assert.Equal("/dev/loop3", (string?)disk.Element("source")!.Attribute("dev"));
                if (disk.Element("serial") is { } s)
                {
                    Assert.Equal(serial, s.Value);
                }
            }
        }, iter: 500);
    }

    [Fact]
    public void GuestSerial_UnsafeForLibvirt_LeftOut()
    {
        Assert.Null(LibvirtDeviceXml.GuestSerial("A&B<x"));
        Assert.Null(LibvirtDeviceXml.GuestSerial(new string('a', 65)));
        Assert.Null(LibvirtDeviceXml.GuestSerial(" "));
        Assert.Equal("576B63C4", LibvirtDeviceXml.GuestSerial("576B63C4"));
    }

    [Fact]
    public void FreeTarget_AfterZ_TwoLetters()
    {
        var used = new HashSet<string>(Enumerable.Range(0, 26).Select(i => "sd" + (char)('a' + i)), StringComparer.Ordinal);
        Assert.Equal("sdaa", LibvirtDeviceXml.FreeTarget("sd", used));
    }

    [Fact]
    public void LiveXml_OnlyAgentAliases_AreAgentDevices()
    {
        const string xml = """
            <domain type='qemu'><devices>
              <disk type='block' device='disk'><source dev='/dev/loop1'/><target dev='sda' bus='usb'/><alias name='ua-kua-b0123456789ab'/></disk>
              <disk type='file' device='disk'><source file='/img'/><target dev='vda' bus='virtio'/><alias name='ua-admin-disk'/></disk>
              <hostdev mode='subsystem' type='usb'><source><vendor id='0x058F'/><product id='0x6387'/><address bus='2' device='5'/></source><alias name='ua-kua-u2-1_4-058f6387'/></hostdev>
              <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0x5678'/></source><alias name='hostdev0'/></hostdev>
              <controller type='usb' model='qemu-xhci'/>
            </devices></domain>
            """;
        LiveDomain live = LibvirtLiveXml.Parse(xml);
        Assert.Equal(["kua-b0123456789ab", "kua-u2-1.4-058f6387"], live.Devices.Select(d => d.Id));
        Assert.Equal("/dev/loop1", live.Devices[0].Drive);
        Assert.Equal(("058f", "6387", 2), (live.Devices[1].VendorId, live.Devices[1].ProductId, live.Devices[1].HostBus));
        Assert.Equal(["sda", "vda"], live.Targets.Order());
        Assert.True(live.HasUsbController);
    }

    private static UsbId Id(string text) => UsbId.TryParse(text, out UsbId id, out _) ? id : throw new ArgumentException(text);
}
