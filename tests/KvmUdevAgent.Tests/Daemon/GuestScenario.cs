using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Core.Tests.Netns;
using KvmUdevAgent.Tests.Support.Guest;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// A daemon scenario against a booted test guest (issue 13): the real daemon with the guest's QEMU
/// as VM <c>guest</c>, and drives whose disk is a real loop device holding ext4 with a label and a
/// file <c>nonce</c> of random text, so what the guest reads can only come from that drive.
/// Disposal unplugs what is still plugged, waits until the guest no longer sees it (the next test
/// of the class starts from a clean guest), then stops the daemon and detaches the loop devices.
/// </summary>
internal sealed class GuestScenario : IAsyncDisposable
{
    private readonly List<Drive> _plugged = [];
    private readonly List<LoopDevice> _loops = [];

    private GuestScenario(DaemonEnvironment env, LinuxGuest guest)
    {
        Env = env;
        Guest = guest;
    }

    public DaemonEnvironment Env { get; }

    public LinuxGuest Guest { get; }

    /// <summary>A plugged drive: its fixture USB device and the loop device its disk is.</summary>
    public sealed record Drive(SysfsFixture.Drive Usb, LoopDevice Loop, string Label, string Nonce)
    {
        /// <summary>The loop device's size as the guest counts it (512-byte sectors).</summary>
        public long Sectors => long.Parse(File.ReadAllText($"/sys/class/block/{Loop.Name}/size"), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<GuestScenario> StartAsync(LinuxGuest guest, string rules)
    {
        // The guest of the class starts each test clean: nothing plugged.
        await guest.WaitForAsync(r => !r.Plugged.Any() && r.Disks.Count == 0, "no drive plugged (a test before this one left one)");
        DaemonEnvironment env = await DaemonEnvironment.CreateAsync(withQemu: false);
        try
        {
            env.WriteRules("10-guest.yaml", rules);
            string protocol = guest.Protocol == MonitorProtocol.Hmp ? ", protocol: hmp" : string.Empty;
            env.WriteConfig(extraVms: $"  guest: {{ monitor: \"{guest.Monitor}\"{protocol} }}\n");
            await env.StartDaemonAsync();
            await env.Daemon!.WaitForLogAsync("VM guest reconciled", TimeSpan.FromSeconds(30));
            return new GuestScenario(env, guest);
        }
        catch
        {
            await env.DisposeAsync();
            throw;
        }
    }

    /// <summary>Plugs <paramref name="usb"/> (udev events into the daemon) with a fresh ext4 loop device labelled <paramref name="label"/> as its disk.</summary>
    public async Task<Drive> PlugAsync(SysfsFixture.Drive usb, string label)
    {
        string nonce = Guid.NewGuid().ToString("N");
        LoopDevice loop = await LoopDevice.CreateAsync(label, new Dictionary<string, string> { ["nonce"] = nonce + "\n" });
        _loops.Add(loop);
        var drive = new Drive(usb, loop, label, nonce);
        _plugged.Add(drive);
        Env.InjectUdev(Env.PlugEvents(usb, loop.DevicePath));
        return drive;
    }

    public void Unplug(Drive drive)
    {
        _plugged.Remove(drive);
        SharedMonitorScenarioTests.Unplug(Env, drive.Usb, drive.Loop.DevicePath);
    }

    /// <summary>The guest's report once its kernel read <paramref name="drive"/>'s filesystem.</summary>
    public Task<GuestReport> WaitUntilSeenAsync(Drive drive) =>
        WaitForAsync(r => r.DiskWithNonce(drive.Nonce) is not null, $"the filesystem of the drive labelled {drive.Label} (nonce {drive.Nonce})");

    public Task<GuestReport> WaitUntilGoneAsync() =>
        WaitForAsync(r => !r.Plugged.Any() && r.Disks.Count == 0, "every drive gone");

    /// <summary>As <see cref="LinuxGuest.WaitForAsync"/>; a failure also says what QEMU has and what the daemon logged.</summary>
    public async Task<GuestReport> WaitForAsync(Func<GuestReport, bool> condition, string what)
    {
        try
        {
            return await Guest.WaitForAsync(condition, what);
        }
        catch (TimeoutException e)
        {
            var devices = await DaemonEnvironment.AgentDevicesAsync(Guest.Qemu);
            throw new TimeoutException(e.Message + "\nQEMU's agent devices: [" + string.Join(", ", devices.Keys) + "]\ndaemon stderr:\n" + Env.Daemon?.Stderr, e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (Drive drive in _plugged.ToList())
            {
                Unplug(drive);
            }

            await WaitUntilGoneAsync();
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // The test failed already (its own exception is the one to report); the next test of
            // the class finds the guest not clean and says so.
        }
        finally
        {
            await Env.DisposeAsync();
            foreach (LoopDevice loop in _loops)
            {
                await loop.DisposeAsync();
            }
        }
    }
}
