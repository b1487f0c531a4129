using System.CommandLine;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Cli;

/// <summary><c>kvm-udev-agent monitor</c>: print uevents as they arrive, like <c>udevadm monitor --property</c>.</summary>
internal static class MonitorCommand
{
    public static Command Create()
    {
        Option<string> source = new("--source")
        {
            Description = "Where to listen: kernel (netlink group 1), udev (group 2, after systemd-udevd), auto (udev when systemd-udevd runs, else kernel) or both.",
            DefaultValueFactory = _ => "auto",
        };
        source.AcceptOnlyFromAmong("auto", "kernel", "udev", "both");
        Option<bool> json = new("--json") { Description = "One JSON object per event and line (the --record format)." };
        Option<string[]> subsystem = new("--subsystem", "-s") { Description = "Only show events of this subsystem (repeatable)." };
        Option<bool> coldplug = new("--coldplug") { Description = "First print the devices already present, from sysfs, as coldplug add events." };
        Option<string?> record = new("--record") { Description = "Also write every shown event to FILE as JSON lines (what `test --replay` reads).", HelpName = "FILE" };
        Option<string> sysfsRoot = new("--sysfs-root") { Description = "Root of sysfs, for --coldplug.", DefaultValueFactory = _ => "/sys", HelpName = "DIR" };
        Option<int> rcvbuf = new("--rcvbuf")
        {
            Description = "Netlink receive buffer in bytes (the kernel doubles it; above net.core.rmem_max only as root).",
            DefaultValueFactory = _ => 16 * 1024 * 1024,
            HelpName = "BYTES",
        };
        rcvbuf.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--rcvbuf must not be negative");
            }
        });

        Command command = new("monitor", "Print uevents as they arrive (like udevadm monitor --property); Ctrl-C prints the counts and exits.")
        {
            source, json, subsystem, coldplug, record, sysfsRoot, rcvbuf,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new MonitorOptions
            {
                Sources = parseResult.GetValue(source) switch
                {
                    "kernel" => [SourceKind.Kernel],
                    "udev" => [SourceKind.Udev],
                    "both" => [SourceKind.Kernel, SourceKind.Udev],
                    _ => [SourceKind.Auto],
                },
                Json = parseResult.GetValue(json),
                Subsystems = new HashSet<string>(parseResult.GetValue(subsystem) ?? [], StringComparer.Ordinal),
                Coldplug = parseResult.GetValue(coldplug),
                RecordPath = parseResult.GetValue(record),
                SysfsRoot = parseResult.GetValue(sysfsRoot) ?? "/sys",
                ReceiveBufferBytes = parseResult.GetValue(rcvbuf),
            };
            var handler = new MonitorHandler(parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error);
            return handler.InvokeAsync(options, cancellationToken);
        });
        return command;
    }
}
