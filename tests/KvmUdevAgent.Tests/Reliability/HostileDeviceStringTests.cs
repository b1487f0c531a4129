using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Audit;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Core.Tests.Qemu;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>
/// Issue 7, reliability 2, through the whole running daemon: drives whose serials, labels and udev
/// properties carry newlines, quotes, <c>;</c>, <c>$(…)</c>, backticks, <c>../</c>, control
/// characters, invalid UTF-8, QMP and HMP syntax and a 64 KiB value are attached to a QMP VM and to
/// an HMP-only VM (real loop devices), mounted, and handed to a hook. Nothing escapes its field:
/// QEMU over QMP reports each serial verbatim and over HMP got none and no smuggled device; the hook
/// got each value as one argument; the mount point is one sanitised name inside the base; the audit
/// record's serial field is the serial. Component-level tests cover the same edges with 13,000
/// generated cases (HostileTemplateTests, HostileMonitorTests, HookHostileArgvTests).
/// </summary>
public sealed partial class HostileDeviceStringTests
{
    private static readonly byte[][] s_serials =
    [
        Encoding.UTF8.GetBytes("a\"b;$(touch /tmp/kua-pwned)`id` 'c' \\d\nnext-line"),
        Encoding.UTF8.GetBytes("}\n{\"execute\":\"quit\"}\n\"],\"x\":\"\u202e"),
        Encoding.UTF8.GetBytes("x\ndevice_add usb-kbd,id=pwn\ny,id=pwn2 ../../etc\t\u0001\u001b[31m"),
        [0x41, 0xff, 0xfe, 0x42, 0xc3, 0x28, 0x2c, 0x3d, 0x0d, 0x5d, 0x43], // invalid UTF-8, CR and ']'
        Encoding.UTF8.GetBytes("'; rm -rf / # ${IFS}|&&日本語😀"),
    ];

    private const string HostileLabel = "../../etc/\n$(reboot)`x`\u0001;\"'\\ü";

    [Fact]
    public async Task HostileDrives_QmpAndHmpVmsMountAndHook_NothingEscapesItsField()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        using QemuProcess legacy = await QemuProcess.StartAsync(new QemuOptions { Qmp = false, HmpUnix = true });
        await using LoopDevice qmpDisk = await LoopDevice.CreateAsync();
        await using LoopDevice hmpDisk = await LoopDevice.CreateAsync();
        await using LoopDevice ext4 = await LoopDevice.CreateAsync(ext4Label: "kuahostile");
        string record = Path.Combine(env.Work, "record.sh");
        File.WriteAllText(record, "#!/bin/sh\nout=\"$0.$1\"\nshift\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$out\"\n");
        File.SetUnixFileMode(record, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        env.WriteRules("10-hostile.yaml", $$"""
            rules:
              - name: qmp-drive
                match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa1" } }
                attach: { vm: winxp, as: usb-storage, read_only: true }
              - name: hmp-drive
                match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa2" } }
                attach: { vm: legacy, as: usb-storage, read_only: true }
              - name: mount-drive
                match: { subsystem: block, devtype: disk, attrs: { idVendor: "aaa3" } }
                mount: { path: "{fs_label}", options: [ro] }
              - name: tell
                match: { subsystem: usb, devtype: usb_device, vendor: "aaa*" }
                hook: { run: ["{{record}}", "{kernel}", "{serial}", "{props.ID_KUA_NOTE}", "{vendor}:{product}"] }
            """);
        env.WriteConfig(extraVms: "  legacy: { monitor: \"unix:" + legacy.HmpSocket + "\", protocol: hmp }\n");
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));
        await env.Daemon.WaitForLogAsync("VM legacy reconciled", TimeSpan.FromSeconds(20));

        string note = HostileStrings.Big("$(x)`y`\n\"';../");
        var drives = new List<(SysfsFixture.Drive Drive, string Serial, string Vendor)>();
        var plug = new List<Uevent>();
        for (int i = 0; i < 5; i++)
        {
            // Drives 0-2 go to the QMP VM, 3-4 to the HMP VM, each on a real loop device.
            string vendor = i < 3 ? "aaa1" : "aaa2";
            var drive = env.Sysfs.UsbDevice(5, (i + 1).ToString(CultureInfo.InvariantCulture), vendor, "000" + i.ToString(CultureInfo.InvariantCulture))
                .Strings("Evil\nCorp", "Stick \"$(id)\"", null).SerialBytes(s_serials[i])
                .Interface(0x08, 0x06, 0x50, "usb-storage")
                .ScsiDisk("sd" + (char)('k' + i), sizeBytes: 8 << 20)
                .Add();
            // sysfs attributes end in a newline, which the agent trims.
            drives.Add((drive, Encoding.UTF8.GetString(s_serials[i]).TrimEnd(), vendor));
            plug.AddRange(Events(env, drive, i < 3 ? qmpDisk.DevicePath : hmpDisk.DevicePath, note));
        }

        var mountDrive = env.Sysfs.UsbDevice(5, "7", "aaa3", "0007").Strings("Evil", "Label", "LBL1")
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .ScsiDisk("sdq", sizeBytes: 8 << 20)
            .DiskFilesystem("ext4", HostileLabel, "0BAD-F00D")
            .Add();
        plug.AddRange(Events(env, mountDrive, ext4.DevicePath, note));
        string? mountPoint = null;
        try
        {
            env.InjectUdev(plug);

            // QMP VM: three usb-storage devices, each with exactly its drive's serial.
            var qmpDevices = await env.WaitForDevicesAsync(d => d.Count == 3);
            var seen = new List<string>();
            foreach (string id in qmpDevices.Keys)
            {
                seen.Add(await env.QomGetAsync(id, "serial") ?? "<none>");
            }

            Assert.Equal(drives.Take(3).Select(d => d.Serial).Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));

            // HMP VM: two usb-storage devices without a serial, and nothing else smuggled in.
            Dictionary<string, string> hmpDevices = await WaitForAsync(legacy, d => d.Count(kv => kv.Key.StartsWith("kua-", StringComparison.Ordinal)) == 2);
            Assert.Equal(["xhci"], hmpDevices.Keys.Where(k => !k.StartsWith("kua-b", StringComparison.Ordinal)));
            foreach (string id in hmpDevices.Keys.Where(k => k.StartsWith("kua-", StringComparison.Ordinal)))
            {
                Assert.Equal("child<usb-storage>", hmpDevices[id]);
                Assert.Equal(string.Empty, await DaemonEnvironment.QomGetAsync(legacy, id, "serial") ?? string.Empty);
            }

            Assert.Equal(["xhci"], (await WaitForAsync(env.Qemu!, _ => true)).Keys.Where(k => !k.StartsWith("kua-b", StringComparison.Ordinal)));

            // The hook: one argument per value, byte for byte, the 64 KiB note included.
            foreach (var (drive, serial, vendor) in drives)
            {
                string[] argv = await ReadArgvAsync(record + "." + drive.UsbKernel);
                Assert.Equal([serial, note, vendor + ":" + drive.ProductId], argv);
            }

            // The mount: one sanitised directory inside the base, read-only and safe.
            string mountBase = Path.GetFullPath(env.MountBase) + "/";
            string[] fields = await WaitForMountAsync(mountBase, env.Daemon!);
            mountPoint = Unescape(fields[4]);
            string name = mountPoint[mountBase.Length..];
            Assert.DoesNotContain('/', name);
            Assert.DoesNotContain(name, c => char.IsControl(c) || c is '"' or '\'' or '`' or '\\');
            Assert.False(name.StartsWith('.'), name);
            Assert.Contains("ro", fields[5].Split(','));
            Assert.Contains("noexec", fields[5].Split(','));

            // The audit trail: each attach record's serial field is the serial, whole.
            var attaches = await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach" && m.Element("kua@32473")["outcome"] == "success", 5, TimeSpan.FromSeconds(20));
            Assert.Equal(
                drives.Select(d => d.Serial).Order(StringComparer.Ordinal),
                attaches.Select(m => m.Element("kua@32473")["serial"]).Order(StringComparer.Ordinal));
            // Issue 13: what the guest was shown. QMP sent each serial whole; HMP none, and the record says why.
            foreach (var attach in attaches)
            {
                var extra = attach.Element("kua.x@32473");
                if (attach.Element("kua@32473")["target"] == "legacy")
                {
                    Assert.False(extra.Has("guest_serial"));
                    Assert.Contains("HMP", extra["guest_serial_omitted"], StringComparison.Ordinal);
                }
                else
                {
                    Assert.Equal(attach.Element("kua@32473")["serial"], extra["guest_serial"]);
                }
            }
            var mounted = (await env.Syslog.WaitForAsync(m => m.MsgId == "device.mount", 1, TimeSpan.FromSeconds(10)))[0]; // a resync may audit the idempotent mount again
            Assert.Equal(HostileLabel, mounted.Element("kua@32473")["label"]);
            Assert.Equal(mountPoint, mounted.Element("kua@32473")["target"]);
            Assert.False(File.Exists("/tmp/kua-pwned"), "a device string reached a shell");

            // Unplugged: both VMs and the mount table are clean again.
            var unplug = drives.Select(d => d.Drive).Append(mountDrive).SelectMany(d => env.Sysfs.UnplugEvents(d, udev: true)).ToList();
            foreach (var d in drives.Select(d => d.Drive).Append(mountDrive))
            {
                env.Sysfs.Unplug(d);
            }

            env.InjectUdev(unplug.Select(e => e.DevPath.EndsWith("/sdq", StringComparison.Ordinal) ? Replace(e, "DEVNAME", ext4.DevicePath) : e));
            await env.WaitForDevicesAsync(d => d.Count == 0);
            await WaitForAsync(legacy, d => !d.Keys.Any(k => k.StartsWith("kua-", StringComparison.Ordinal)));
            await WaitForMountAsync(mountBase, env.Daemon!, present: false);
        }
        finally
        {
            if (mountPoint is not null && File.ReadAllText("/proc/self/mountinfo").Contains(" " + Escape(mountPoint) + " ", StringComparison.Ordinal))
            {
                await ProcessRunner.RunAsync("umount", ["-l", "--", mountPoint]);
            }

            // Stop the daemon before its VMs and disks go.
            await env.Daemon!.DisposeAsync();
        }
    }

    /// <summary>The udev events of a plug, with the disk's DEVNAME pointing at a real loop device and a 64 KiB property on the USB device.</summary>
    private static IEnumerable<Uevent> Events(DaemonEnvironment env, SysfsFixture.Drive drive, string devNode, string note) =>
        env.Sysfs.PlugEvents(drive, udev: true).Select(e =>
            e.DevPath == drive.Disk!.DevPath ? Replace(e, "DEVNAME", devNode)
            : e.DevPath == drive.UsbDevice.DevPath ? Uevent.Create(UeventSource.Udev, e.Properties.Append(new("ID_KUA_NOTE", note)))
            : e);

    private static Uevent Replace(Uevent e, string key, string value) =>
        Uevent.Create(UeventSource.Udev, e.Properties.Select(p => p.Key == key ? new KeyValuePair<string, string>(key, value) : p));

    private static async Task<string[]> ReadArgvAsync(string file)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!File.Exists(file) || new FileInfo(file).Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the hook never wrote " + file);
            await Task.Delay(25);
        }

        // The hook writes and closes the file before it exits; wait for the audit of the run instead of guessing.
        byte[] bytes = await File.ReadAllBytesAsync(file);
        while (bytes.Length == 0 || bytes[^1] != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the hook's argv file stayed incomplete: " + file);
            await Task.Delay(25);
            bytes = await File.ReadAllBytesAsync(file);
        }

        return Encoding.UTF8.GetString(bytes).TrimEnd('\0').Split('\0');
    }

    /// <summary>Every peripheral of <paramref name="qemu"/> (not only the agent's), through the support's own QMP socket.</summary>
    private static async Task<Dictionary<string, string>> WaitForAsync(QemuProcess qemu, Func<Dictionary<string, string>, bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            Assert.True(MonitorEndpoint.TryParse("unix:" + qemu.ReadySocket, out MonitorEndpoint endpoint, out string? reason), reason);
            await using var qmp = (QmpConnection)await MonitorConnector.ConnectAsync(endpoint, MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None);
            var all = (await qmp.QomListAsync("/machine/peripheral", CancellationToken.None)).Where(p => p.Type.StartsWith("child<", StringComparison.Ordinal)).ToDictionary(p => p.Name, p => p.Type);
            if (condition(all))
            {
                return all;
            }

            Assert.True(DateTime.UtcNow < deadline, "QEMU never reached the expected state: [" + string.Join(", ", all.Keys) + "]");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until something is (or nothing is) mounted under <paramref name="mountBase"/>; fails with the daemon's log.</summary>
    private static async Task<string[]> WaitForMountAsync(string mountBase, DaemonProcess daemon, bool present = true)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            string[]? fields = File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')).FirstOrDefault(f => Unescape(f[4]).StartsWith(mountBase, StringComparison.Ordinal));
            if ((fields is not null) == present)
            {
                return fields ?? [];
            }

            Assert.True(DateTime.UtcNow < deadline, (present ? "nothing was mounted under " : "still mounted under ") + mountBase + "\ndaemon stderr:\n" + daemon.Stderr);
            await Task.Delay(50);
        }
    }

    // /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string field) => OctalEscape().Replace(field, m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());

    private static string Escape(string path) => path.Replace("\\", "\\134", StringComparison.Ordinal).Replace(" ", "\\040", StringComparison.Ordinal).Replace("\t", "\\011", StringComparison.Ordinal).Replace("\n", "\\012", StringComparison.Ordinal);

    [GeneratedRegex(@"\\([0-7]{3})")]
    private static partial Regex OctalEscape();
}
