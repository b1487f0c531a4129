using System.Globalization;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>One report of the guest (<see cref="GuestInit"/>): what it saw at one moment, and when the test received it.</summary>
internal sealed record GuestReport(IReadOnlyList<GuestUsbDevice> Usb, IReadOnlyList<GuestDisk> Disks, long ReceivedAt)
{
    public static readonly GuestReport Empty = new([], [], 0);

    /// <summary>The USB devices QEMU plugged (the xHCI root hubs, vendor 1d6b, left out).</summary>
    public IEnumerable<GuestUsbDevice> Plugged => Usb.Where(d => d.Vendor != "1d6b");

    /// <summary>The disk whose filesystem holds <paramref name="nonce"/>, if the guest sees it.</summary>
    public GuestDisk? DiskWithNonce(string nonce) => Disks.FirstOrDefault(d => d.Nonce == nonce);

    /// <summary>Parses the lines between <c>KUA begin</c> and <c>KUA end</c>.</summary>
    public static GuestReport Parse(IReadOnlyList<string> lines, long receivedAt)
    {
        var usb = new List<GuestUsbDevice>();
        var disks = new List<GuestDisk>();
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var nonces = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in lines)
        {
            string[] f = line.Split(' ', 5);
            switch (f[1])
            {
                case "usb" when f.Length >= 5:
                    string[] rest = f[4].Split(' ', 2);
                    usb.Add(new GuestUsbDevice(f[2], f[3], rest[0], rest.Length > 1 ? rest[1] : string.Empty));
                    break;
                case "disk" when f.Length == 5:
                    string[] flags = f[4].Split(' ');
                    disks.Add(new GuestDisk(f[2], f[3] == "1", flags[0] == "1", long.Parse(flags[1], CultureInfo.InvariantCulture)));
                    break;
                case "label":
                    labels[f[2]] = line.Split(' ', 4) is { Length: 4 } l ? l[3] : string.Empty;
                    break;
                case "nonce":
                    nonces[f[2]] = line.Split(' ', 4) is { Length: 4 } n ? n[3] : string.Empty;
                    break;
                default:
                    throw new FormatException("unexpected guest report line: " + line);
            }
        }

        return new GuestReport(
            usb,
            [.. disks.Select(d => d with { Label = labels.GetValueOrDefault(d.Name), Nonce = nonces.GetValueOrDefault(d.Name) })],
            receivedAt);
    }

    public override string ToString() =>
        string.Join("; ", Usb.Select(u => $"usb {u.Name} {u.Vendor}:{u.Product} serial '{u.Serial}'")
            .Concat(Disks.Select(d => $"disk {d.Name} removable={(d.Removable ? 1 : 0)} ro={(d.ReadOnly ? 1 : 0)} sectors={d.Sectors} label '{d.Label}' nonce '{d.Nonce}'")));
}
