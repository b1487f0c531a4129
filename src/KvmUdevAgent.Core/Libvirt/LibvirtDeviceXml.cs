using System.Globalization;
using System.Text;
using System.Xml;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Libvirt;

/// <summary>
/// The device XML the agent hands libvirt. Every value goes through <see cref="XmlWriter"/>, so it
/// is escaped: device strings can never add elements or attributes. A USB hostdev names vendor,
/// product, bus and device number (never vendor/product alone, never <c>startupPolicy</c>: with
/// <c>optional</c> libvirt attaches an unfiltered usb-host when the device is absent).
/// </summary>
internal static class LibvirtDeviceXml
{
    private const int MaxSerialLength = 64;

    private static readonly XmlWriterSettings s_settings = new() { OmitXmlDeclaration = true, ConformanceLevel = ConformanceLevel.Fragment, Indent = false };

    /// <summary>Builds the XML for <paramref name="request"/>, picking a free target name from <paramref name="live"/>.</summary>
    /// <exception cref="LibvirtException">The request cannot be expressed for this domain (no device number, no USB controller).</exception>
    public static string For(AttachRequest request, LiveDomain live, string domain) => request switch
    {
        UsbHostDevice usb => UsbHost(usb, live, domain),
        BlockAttachRequest block => Disk(block, live, domain),
        _ => throw new LibvirtException("unsupported attach request " + request.GetType().Name),
    };

    public static string UsbHost(UsbHostDevice device, LiveDomain live, string domain)
    {
        if (device.DevNum is not int devNum)
        {
            throw new LibvirtException($"USB device {device.Vendor}:{device.Product} on bus {device.Bus} has no device number (devnum); libvirt needs it to pick the exact device");
        }

        RequireUsbController(live, domain);
        return Write(w =>
        {
            w.WriteStartElement("hostdev");
            w.WriteAttributeString("mode", "subsystem");
            w.WriteAttributeString("type", "usb");
            w.WriteAttributeString("managed", "no");
            w.WriteStartElement("source");
            w.WriteStartElement("vendor");
            w.WriteAttributeString("id", "0x" + device.Vendor);
            w.WriteEndElement();
            w.WriteStartElement("product");
            w.WriteAttributeString("id", "0x" + device.Product);
            w.WriteEndElement();
            w.WriteStartElement("address");
            w.WriteAttributeString("bus", device.Bus.ToString(CultureInfo.InvariantCulture));
            w.WriteAttributeString("device", devNum.ToString(CultureInfo.InvariantCulture));
            w.WriteEndElement();
            w.WriteEndElement();
            Alias(w, device.Id);
            w.WriteEndElement();
        });
    }

    public static string Disk(BlockAttachRequest request, LiveDomain live, string domain)
    {
        bool usb = request.Model == BlockDeviceModel.UsbStorage;
        if (usb)
        {
            RequireUsbController(live, domain);
        }

        string target = FreeTarget(usb ? "sd" : "vd", live.Targets);
        return Write(w =>
        {
            w.WriteStartElement("disk");
            w.WriteAttributeString("type", "block");
            w.WriteAttributeString("device", "disk");
            w.WriteStartElement("driver");
            w.WriteAttributeString("name", "qemu");
            w.WriteAttributeString("type", "raw");
            w.WriteEndElement();
            w.WriteStartElement("source");
            w.WriteAttributeString("dev", request.DevNode);
            w.WriteEndElement();
            w.WriteStartElement("target");
            w.WriteAttributeString("dev", target);
            w.WriteAttributeString("bus", usb ? "usb" : "virtio");
            if (usb)
            {
                w.WriteAttributeString("removable", request.Removable ? "on" : "off");
            }

            w.WriteEndElement();
            if (request.ReadOnly)
            {
                w.WriteElementString("readonly", null);
            }

            if (GuestSerial(request.GuestSerial) is { } serial)
            {
                w.WriteElementString("serial", serial);
            }

            Alias(w, request.Id);
            w.WriteEndElement();
        });
    }

    /// <summary>
    /// The serial as libvirt accepts it: it refuses anything outside <c>[A-Za-z0-9_. -]</c>
    /// ("driver serial … contains unsafe characters"), so another serial is left out rather than
    /// failing the attach. A blank serial says nothing to the guest and is left out too.
    /// </summary>
    public static string? GuestSerial(string? serial)
    {
        if (string.IsNullOrWhiteSpace(serial) || serial.Length > MaxSerialLength)
        {
            return null;
        }

        foreach (char c in serial)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ' ' or '-'))
            {
                return null;
            }
        }

        return serial;
    }

    /// <summary>The first of <c>sda</c>…<c>sdz</c>, <c>sdaa</c>…<c>sdzz</c> (or <c>vd…</c>) not in <paramref name="used"/>.</summary>
    public static string FreeTarget(string prefix, IReadOnlySet<string> used)
    {
        for (int i = 0; i < 26 + (26 * 26); i++)
        {
            string suffix = i < 26 ? ((char)('a' + i)).ToString() : string.Concat((char)('a' + ((i - 26) / 26)), (char)('a' + ((i - 26) % 26)));
            string name = prefix + suffix;
            if (!used.Contains(name))
            {
                return name;
            }
        }

        throw new LibvirtException("no free disk target name with prefix " + prefix);
    }

    private static void RequireUsbController(LiveDomain live, string domain)
    {
        if (!live.HasUsbController)
        {
            throw new LibvirtException($"libvirt domain '{domain}' has no USB controller; add one to its definition (virsh edit: <controller type='usb' model='qemu-xhci'/>) and restart it");
        }
    }

    private static void Alias(XmlWriter w, string id)
    {
        w.WriteStartElement("alias");
        w.WriteAttributeString("name", LibvirtAlias.FromId(id));
        w.WriteEndElement();
    }

    private static string Write(Action<XmlWriter> write)
    {
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(text, s_settings))
        {
            write(writer);
        }

        return text.ToString();
    }
}
