using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Tests.Support.Guest;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// Issue 13, proven inside a real guest: a Linux guest (Debian's kernel, busybox; see
/// <see cref="GuestImage"/>) reports what its own kernel sees while the real daemon routes drives
/// to its QEMU over QMP. The drives are real ext4 loop devices behind fixture USB devices.
/// </summary>
public sealed class GuestQmpScenarioTests(QmpGuestFixture fixture) : IClassFixture<QmpGuestFixture>
{
    /// <summary>QEMU's usb-storage shows the guest its own ids (46f4:0001 "QEMU USB MSD"), with the drive's serial.</summary>
    internal const string QemuMsdVendor = "46f4";
    internal const string QemuMsdProduct = "0001";

    private const string SeedRule = """
        rules:
          - name: seed-drive-to-guest
            match: { subsystem: block, devtype: disk, attrs: { idVendor: "058f", idProduct: "6387", serial: "576B63C4" } }
            attach: { vm: guest, as: usb-storage }
        """;

    [Fact]
    public async Task SeedDrive_RoutedOverQmp_GuestSeesItsSerialRemovableDiskLabelAndNonce_TwinNever_UnplugGone()
    {
        await using GuestScenario s = await GuestScenario.StartAsync(fixture.Guest, SeedRule);
        GuestScenario.Drive twin = await s.PlugAsync(s.Env.Sysfs.AddTwinFlashDrive(), "TWIN");
        await s.Env.Syslog.WaitForAsync(m => m.MsgId == "event.unmatched" && m.Element("kua@32473")["serial"] == SysfsFixture.TwinSerial, 1, TimeSpan.FromSeconds(20));
        GuestScenario.Drive seed = await s.PlugAsync(s.Env.Sysfs.AddSeedFlashDrive(), "FLASH");

        GuestReport seen = await s.WaitUntilSeenAsync(seed);
        GuestUsbDevice usb = Assert.Single(seen.Plugged);
        Assert.Equal((QemuMsdVendor, QemuMsdProduct, SysfsFixture.SeedSerial), (usb.Vendor, usb.Product, usb.Serial));
        GuestDisk disk = Assert.Single(seen.Disks);
        Assert.True(disk.Removable, seen.ToString());
        Assert.False(disk.ReadOnly, seen.ToString());
        Assert.Equal(seed.Sectors, disk.Sectors);
        Assert.Equal("FLASH", disk.Label);
        Assert.Equal(seed.Nonce, disk.Nonce);
        Assert.DoesNotContain(seen.Usb, u => u.Serial == SysfsFixture.TwinSerial);
        Assert.DoesNotContain(twin.Nonce, seen.ToString(), StringComparison.Ordinal);

        s.Unplug(seed);
        await s.WaitUntilGoneAsync();
    }

    [Fact]
    public async Task RemovableAndReadOnly_FromSysfsOrForcedByRule_GuestSeesThem()
    {
        await using GuestScenario s = await GuestScenario.StartAsync(fixture.Guest, """
            rules:
              - name: fixed-read-only
                match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa1" } }
                attach: { vm: guest, as: usb-storage, read_only: true }
              - name: removable-forced-off
                match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa2" } }
                attach: { vm: guest, as: usb-storage, removable: false }
              - name: fixed-forced-removable
                match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa3" } }
                attach: { vm: guest, as: usb-storage, removable: true }
            """);
        GuestScenario.Drive fixedReadOnly = await s.PlugAsync(Drive(s, "aaa1", "1", "sdk", removable: false), "FIXEDRO");
        GuestScenario.Drive forcedOff = await s.PlugAsync(Drive(s, "aaa2", "2", "sdl", removable: true), "FORCEDOFF");
        GuestScenario.Drive forcedOn = await s.PlugAsync(Drive(s, "aaa3", "3", "sdm", removable: false), "FORCEDON");

        GuestReport seen = await s.WaitForAsync(
            r => r.DiskWithNonce(fixedReadOnly.Nonce) is not null && r.DiskWithNonce(forcedOff.Nonce) is not null && r.DiskWithNonce(forcedOn.Nonce) is not null,
            "the three drives' filesystems");
        Assert.Equal(["S1", "S2", "S3"], seen.Plugged.Select(u => u.Serial).Order(StringComparer.Ordinal));
        Assert.Equal((false, true, "FIXEDRO"), Flags(seen.DiskWithNonce(fixedReadOnly.Nonce)!));
        Assert.Equal((false, false, "FORCEDOFF"), Flags(seen.DiskWithNonce(forcedOff.Nonce)!));
        Assert.Equal((true, false, "FORCEDON"), Flags(seen.DiskWithNonce(forcedOn.Nonce)!));

        s.Unplug(fixedReadOnly);
        GuestReport after = await s.WaitForAsync(r => r.DiskWithNonce(fixedReadOnly.Nonce) is null && !r.Plugged.Any(u => u.Serial == "S1"), "the read-only drive gone");
        Assert.Equal(2, after.Disks.Count);
    }

    private static (bool Removable, bool ReadOnly, string? Label) Flags(GuestDisk disk) => (disk.Removable, disk.ReadOnly, disk.Label);

    internal static SysfsFixture.Drive Drive(GuestScenario s, string vendor, string port, string disk, bool removable, string? serial = null) =>
        s.Env.Sysfs.UsbDevice(5, port, vendor, "0001").Strings("Kua", "Guest", serial ?? "S" + port)
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .ScsiDisk(disk, sizeBytes: 8 << 20, removable: removable)
            .Add();
}
