using System.Diagnostics;
using System.Text.Json;
using KvmUdevAgent.Core.Tests.Devices;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 16's reproduction through the real binary: a fixture tree in the state a real kernel is in
/// at a flash drive's <c>add</c> (its <c>descriptors</c> attribute present, no interface children
/// yet). <c>test --devpath</c> said "plan: nothing to do" for the README's seed rule; it now reads
/// the interfaces from the descriptors, shows them, and plans the attach. <c>monitor --source
/// kernel --coldplug</c> shows the same list.
/// </summary>
public sealed class Issue16_InterfacesAtAddCliTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly SysfsFixture _sysfs = new();
    private readonly string _rules = Directory.CreateTempSubdirectory("kua-issue16-rules-").FullName;

    public Issue16_InterfacesAtAddCliTests()
    {
        File.Copy(Path.Combine(RepoPaths.Root, "examples", "10-flash-to-winxp.yaml"), Path.Combine(_rules, "10-flash-to-winxp.yaml"));
    }

    public void Dispose()
    {
        _sysfs.Dispose();
        Directory.Delete(_rules, recursive: true);
    }

    private SysfsFixture.Drive SeedDriveAtAdd() =>
        _sysfs.UsbDevice(2, "1.4", SysfsFixture.SeedVendor, SysfsFixture.SeedProduct)
            .Strings("Generic", "Mass Storage", SysfsFixture.SeedSerial)
            .Interface(0x08, 0x06, 0x50, "usb-storage")
            .Unconfigured()
            .Add();

    [Fact]
    public async Task Issue16_TestDevpath_DriveWithoutInterfaceChildren_ShowsInterfacesAndPlansTheAttach()
    {
        SysfsFixture.Drive drive = SeedDriveAtAdd();
        Assert.Empty(Directory.EnumerateDirectories(drive.UsbDevice.Directory, drive.UsbKernel + ":*"));

        ProcessRunner.Result result = await ProcessRunner.RunAsync(RepoPaths.AgentBinary,
            ["test", "--devpath", "/sys/bus/usb/devices/2-1.4", "--sysfs-root", _sysfs.Root, "--rules-dir", _rules]);

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n');
        Assert.Equal("interfaces: [08:06:50] from descriptors", lines[1]);
        Assert.Contains("  flash-to-winxp (10-flash-to-winxp.yaml): matched", lines);
        Assert.Contains("  attach to winxp as usb-host  [rule flash-to-winxp]", lines);
    }

    [Fact]
    public async Task Issue16_TestDevpath_DamagedDescriptors_SaysWhyInterfacesDoNotHold()
    {
        byte[] cut = DescriptorData.Load("composite-flash-keyboard").Bytes[..50];
        _sysfs.UsbDevice(2, "1.4", SysfsFixture.SeedVendor, SysfsFixture.SeedProduct).Strings("Generic", "Mass Storage", SysfsFixture.SeedSerial)
            .Interface(0x08, 0x06, 0x50, "usb-storage").Unconfigured().Descriptors(cut).Add();

        ProcessRunner.Result result = await ProcessRunner.RunAsync(RepoPaths.AgentBinary,
            ["test", "--devpath", "/sys/bus/usb/devices/2-1.4", "--sysfs-root", _sysfs.Root, "--rules-dir", _rules]);

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n');
        Assert.Equal("interfaces: [08:06:50] from descriptors; incomplete, so no 'interfaces' condition holds: "
            + "configuration 1 at offset 18 has wTotalLength 57, only 32 bytes left (truncated)", lines[1]);
        Assert.Contains("  flash-to-winxp (10-flash-to-winxp.yaml): no match: interfaces expected [08:*:*], device has "
            + "\"[08:06:50] (incomplete: configuration 1 at offset 18 has wTotalLength 57, only 32 bytes left (truncated))\"", lines);
        Assert.Contains("plan: nothing to do", lines);
    }

    [Fact]
    public async Task Issue16_MonitorKernelColdplug_ShowsInterfacesFromDescriptors()
    {
        SysfsFixture.Drive drive = SeedDriveAtAdd();

        // The root hub and the hub above come first; the drive's own event is the one to read.
        string text = await ReadMonitorLineAsync(["--source", "kernel", "--coldplug", "--sysfs-root", _sysfs.Root], " " + drive.UsbDevice.DevPath + " (usb)", "  (interfaces ");
        string json = await ReadMonitorLineAsync(["--source", "kernel", "--coldplug", "--json", "--sysfs-root", _sysfs.Root], "\"" + drive.UsbDevice.DevPath + "\"", "\"usb_interfaces\"");

        Assert.Equal("  (interfaces from descriptors: [08:06:50])", text);
        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.Equal(":080650:", doc.RootElement.GetProperty("usb_interfaces").GetString());
        Assert.Equal("descriptors", doc.RootElement.GetProperty("usb_interfaces_from").GetString());
        Assert.Contains(doc.RootElement.GetProperty("properties").EnumerateArray(), p => p.GetProperty("value").GetString() == drive.UsbDevice.DevPath);
    }

    /// <summary>The first line holding <paramref name="token"/> from the line holding <paramref name="from"/> on.</summary>
    private static async Task<string> ReadMonitorLineAsync(string[] args, string from, string token)
    {
        var info = new ProcessStartInfo(RepoPaths.AgentBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("monitor");
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using Process monitor = Process.Start(info)!;
        try
        {
            using var cts = new CancellationTokenSource(s_timeout);
            bool found = false;
            while (await monitor.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                found |= line.Contains(from, StringComparison.Ordinal);
                if (found && line.Contains(token, StringComparison.Ordinal))
                {
                    return line;
                }
            }

            throw new InvalidOperationException("monitor exited: " + await monitor.StandardError.ReadToEndAsync());
        }
        finally
        {
            monitor.Kill();
            await monitor.WaitForExitAsync().WaitAsync(s_timeout);
        }
    }
}
