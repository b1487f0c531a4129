using System.Text;
using KvmUdevAgent.Tests.Support.Guest;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Issue 13 over an HMP-only QEMU (the seed's kind of VM), inside a real guest: a strict serial
/// reaches the guest; a hostile one never goes on an HMP line, and the guest sees QEMU's own serial.
/// </summary>
public sealed class GuestHmpScenarioTests(HmpGuestFixture fixture) : IClassFixture<HmpGuestFixture>
{
    private const string Rule = """
        rules:
          - name: drive-to-guest
            match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa1" } }
            attach: { vm: guest, as: usb-storage, read_only: true }
        """;

    [Fact]
    public async Task StrictSerial_OverHmp_GuestSeesItsSerialRemovableReadOnlyDiskLabelAndNonce_UnplugGone()
    {
        await using GuestScenario s = await GuestScenario.StartAsync(fixture.Guest, Rule);
        GuestScenario.Drive drive = await s.PlugAsync(GuestQmpScenarioTests.Drive(s, "aaa1", "1", "sdk", removable: true, serial: "KUA-1.strict_S"), "STRICT");

        GuestReport seen = await s.WaitUntilSeenAsync(drive);
        GuestUsbDevice usb = Assert.Single(seen.Plugged);
        Assert.Equal((GuestQmpScenarioTests.QemuMsdVendor, GuestQmpScenarioTests.QemuMsdProduct, "KUA-1.strict_S"), (usb.Vendor, usb.Product, usb.Serial));
        GuestDisk disk = Assert.Single(seen.Disks);
        Assert.Equal((true, true, "STRICT", drive.Nonce, drive.Sectors), (disk.Removable, disk.ReadOnly, disk.Label, disk.Nonce, disk.Sectors));

        s.Unplug(drive);
        await s.WaitUntilGoneAsync();
    }

    [Fact]
    public async Task HostileSerial_OverHmp_NeverOnAnHmpLine_GuestSeesQemusOwnSerial()
    {
        // Quotes, commas, '=', a newline that would start a second HMP command, and 300 bytes in all.
        string hostile = "a\"b',c=d\ndevice_add usb-kbd,id=pwn\n" + new string('x', 300);
        hostile = hostile[..300];
        await using GuestScenario s = await GuestScenario.StartAsync(fixture.Guest, Rule);
        var usbDevice = s.Env.Sysfs.UsbDevice(5, "1", "aaa1", "0001").Strings("Kua", "Guest", null).SerialBytes(Encoding.UTF8.GetBytes(hostile))
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .ScsiDisk("sdk", sizeBytes: 8 << 20)
            .Add();
        GuestScenario.Drive drive = await s.PlugAsync(usbDevice, "HOSTILE");

        GuestReport seen = await s.WaitUntilSeenAsync(drive);
        GuestUsbDevice usb = Assert.Single(seen.Plugged);
        // QEMU's own serial for a usb-storage without one: "1-" + the controller's PCI address + "-" + the port.
        Assert.Matches(@"^1-0000:00:[0-9a-f]{2}\.[0-7]-[0-9.]+$", usb.Serial);
        GuestDisk disk = Assert.Single(seen.Disks);
        Assert.Equal((true, true, "HOSTILE", drive.Nonce), (disk.Removable, disk.ReadOnly, disk.Label, disk.Nonce));

        // QEMU's own view: one agent device, no serial property, nothing smuggled in beside it.
        Dictionary<string, string> devices = await DaemonEnvironment.WaitForDevicesAsync(s.Guest.Qemu, d => d.Count == 1, daemon: s.Env.Daemon);
        string id = devices.Keys.Single();
        Assert.Equal(string.Empty, await DaemonEnvironment.QomGetAsync(s.Guest.Qemu, id, "serial") ?? string.Empty);
        await using (var qmp = await DaemonEnvironment.ConnectCheckAsync(s.Guest.Qemu))
        {
            var peripherals = await qmp.QomListAsync("/machine/peripheral", CancellationToken.None);
            Assert.Equal(new[] { id, "xhci" }.Order(StringComparer.Ordinal), peripherals.Where(p => p.Type.StartsWith("child<", StringComparison.Ordinal)).Select(p => p.Name).Order(StringComparer.Ordinal));
        }

        var attach = (await s.Env.Syslog.WaitForAsync(m => m.MsgId == "device.attach", 1, TimeSpan.FromSeconds(20))).Single();
        Assert.Equal("success", attach.Element("kua@32473")["outcome"]);
        Assert.False(attach.Element("kua.x@32473").Has("guest_serial"));
        Assert.Contains("HMP", attach.Element("kua.x@32473")["guest_serial_omitted"], StringComparison.Ordinal);

        s.Unplug(drive);
        await s.WaitUntilGoneAsync();
    }
}
