using System.Text.Json;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>Design scenario 5's daemon side: the CLI asks the running daemon and acts through it.</summary>
public sealed class ControlScenarioTests
{
    private const string SeedId = "kua-u2-1.4-058f6387";

    [Fact]
    public async Task Cli_DevicesDetachAttachStatus_ThroughTheRunningDaemon()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.Sysfs.AddSeedFlashDrive();
        env.WriteRules("10-flash.yaml", """
            rules:
              - name: flash-to-winxp
                match: { subsystem: usb, devtype: usb_device, serial: "576B63C4" }
                attach: { vm: winxp }
            """);
        env.WriteConfig();
        await env.StartDaemonAsync();
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));

        var devices = await CliAsync(env, "devices", "--json");
        Assert.True(devices.ExitCode == 0, devices.ToString());
        using (JsonDocument doc = JsonDocument.Parse(devices.Stdout))
        {
            JsonElement seed = doc.RootElement.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("kernel").GetString() == "2-1.4");
            Assert.Equal("576B63C4", seed.GetProperty("serial").GetString());
            Assert.Equal(["flash-to-winxp"], seed.GetProperty("rules").EnumerateArray().Select(r => r.GetString()));
            Assert.Equal([$"vm:winxp ({SeedId})"], seed.GetProperty("placement").EnumerateArray().Select(r => r.GetString()));
        }

        var detach = await CliAsync(env, "detach", "2-1.4");
        Assert.True(detach.ExitCode == 0, detach.ToString());
        await env.WaitForDevicesAsync(d => d.Count == 0);

        var attach = await CliAsync(env, "attach", "2-1.4", "winxp");
        Assert.True(attach.ExitCode == 0, attach.ToString());
        Assert.Equal("attach /devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4 to winxp: done\n", attach.Stdout);
        await env.WaitForDevicesAsync(d => d.ContainsKey(SeedId));

        var unknown = await CliAsync(env, "attach", "9-9", "winxp");
        Assert.Equal(66, unknown.ExitCode);
        Assert.Contains("no present device '9-9'", unknown.Stderr, StringComparison.Ordinal);

        var status = await CliAsync(env, "status", "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        using (JsonDocument doc = JsonDocument.Parse(status.Stdout))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("attachments").GetInt32());
            Assert.Equal("udev", doc.RootElement.GetProperty("source").GetString());
        }

        var manual = await env.Syslog.WaitForAsync(m => m.MsgId == "device.attach" && m.Element("kua@32473")["rule"] == "manual", 1, TimeSpan.FromSeconds(10));
        Assert.Equal("success", manual.Single().Element("kua@32473")["outcome"]);

        // SIGHUP reloads the rules; SIGTERM finishes and exits 0.
        env.Daemon!.Signal(1);
        await env.Daemon.WaitForLogAsync("SIGHUP: rules reloaded, generation 2, 1 rules", TimeSpan.FromSeconds(10));
        env.Daemon.Signal(15);
        Assert.Equal(0, await env.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains("STOPPING=1", env.Daemon.Notifications);
        await env.Syslog.WaitForAsync(m => m.MsgId == "agent.stop", 1, TimeSpan.FromSeconds(10));
    }

    private static Task<ProcessRunner.Result> CliAsync(DaemonEnvironment env, params string[] args) =>
        ProcessRunner.RunAsync(RepoPaths.AgentBinary, [.. args, "--control-socket", env.ControlSocket]);
}
