using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Libvirt;

/// <summary>Reads the agent's devices, the used disk targets and the USB controllers from a domain's live XML.</summary>
internal static class LibvirtLiveXml
{
    public const string UsbHostDriver = "usb-host";
    public const string UsbStorageDriver = "usb-storage";
    public const string VirtioBlkDriver = "virtio-blk";

    private static readonly XmlReaderSettings s_settings = new() { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };

    public static LiveDomain Parse(string xml)
    {
        XDocument document;
        using (var reader = XmlReader.Create(new StringReader(xml), s_settings))
        {
            document = XDocument.Load(reader);
        }

        XElement? devices = document.Root?.Element("devices");
        var agent = new List<AgentDevice>();
        var targets = new HashSet<string>(StringComparer.Ordinal);
        bool usb = false;
        if (devices is null)
        {
            return new LiveDomain(agent, targets, usb);
        }

        foreach (XElement element in devices.Elements())
        {
            switch (element.Name.LocalName)
            {
                case "controller" when (string?)element.Attribute("type") == "usb" && (string?)element.Attribute("model") != "none":
                    usb = true;
                    break;
                case "disk":
                    if ((string?)element.Element("target")?.Attribute("dev") is { } target)
                    {
                        targets.Add(target);
                    }

                    if (LibvirtAlias.ToId(Alias(element)) is { } diskId)
                    {
                        string targetBus = (string?)element.Element("target")?.Attribute("bus") ?? "";
                        agent.Add(new AgentDevice(diskId, targetBus == "virtio" ? VirtioBlkDriver : UsbStorageDriver)
                        {
                            Drive = (string?)element.Element("source")?.Attribute("dev"),
                        });
                    }

                    break;
                case "hostdev" when LibvirtAlias.ToId(Alias(element)) is { } hostId:
                    XElement? source = element.Element("source");
                    agent.Add(new AgentDevice(hostId, UsbHostDriver)
                    {
                        HostBus = int.TryParse((string?)source?.Element("address")?.Attribute("bus"), NumberStyles.None, CultureInfo.InvariantCulture, out int bus) ? bus : null,
                        VendorId = HexId((string?)source?.Element("vendor")?.Attribute("id")),
                        ProductId = HexId((string?)source?.Element("product")?.Attribute("id")),
                    });
                    break;
            }
        }

        return new LiveDomain(agent, targets, usb);
    }

    private static string? Alias(XElement device) => (string?)device.Element("alias")?.Attribute("name");

    // libvirt writes 0x058f; the agent's devices list vendor and product as 4 lower-case hex digits.
    private static string? HexId(string? value) =>
        value is { Length: 6 } && value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? value[2..].ToLowerInvariant() : value;
}
