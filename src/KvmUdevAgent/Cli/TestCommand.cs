using System.CommandLine;
using System.Text;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary>
/// <c>test --devpath PATH [--action add|remove]</c> or <c>test --replay FILE</c>: for every rule,
/// matched or not and why not; then the plan. Nothing is executed.
/// </summary>
internal static class TestCommand
{
    public static Command Create()
    {
        var rulesDir = RulesCommand.RulesDirOption();
        var json = RulesCommand.JsonOption();
        var devPath = new Option<string?>("--devpath") { Description = "A present device: /sys/devices/... or /devices/..." };
        var action = new Option<string>("--action") { Description = "Pretend this action (add or remove).", DefaultValueFactory = _ => "add" };
        var replay = new Option<string?>("--replay") { Description = "A file written by 'monitor --record' (JSON lines)." };
        var sysfsRoot = new Option<string>("--sysfs-root") { Description = "Root of sysfs.", DefaultValueFactory = _ => new Core.Configuration.AgentConfig().SysfsRoot };
        var command = new Command("test", "Show which rule matches a device or recorded events, what would be done, and why other rules did not match.")
        {
            devPath, action, replay, rulesDir, sysfsRoot, json,
        };
        command.SetAction((parseResult, _) => Task.FromResult(Invoke(new TestOptions(
            parseResult.GetValue(devPath), parseResult.GetValue(action)!, parseResult.GetValue(replay), parseResult.GetValue(rulesDir)!,
            parseResult.GetValue(sysfsRoot)!, parseResult.GetValue(json)), Console.Out, Console.Error)));
        return command;
    }

    public static int Invoke(TestOptions options, TextWriter stdout, TextWriter stderr)
    {
        if ((options.DevPath is null) == (options.Replay is null))
        {
            stderr.WriteLine("kvm-udev-agent: give exactly one of --devpath PATH or --replay FILE (try: kvm-udev-agent test --devpath /sys/bus/usb/devices/2-1.4)");
            return ExitCodes.Usage;
        }

        if (options.Action is not ("add" or "remove"))
        {
            stderr.WriteLine($"kvm-udev-agent: --action must be add or remove, not '{options.Action}'");
            return ExitCodes.Usage;
        }

        if (RulesCommand.Load(options.RulesDir, stderr) is not { } rules)
        {
            return ExitCodes.DataError;
        }

        var factory = new DeviceViewFactory(options.SysfsRoot);
        var reports = new List<RuleTestReport>();
        if (options.DevPath is { } devPath)
        {
            if (ReadDevice(options.SysfsRoot, devPath, options.Action, stderr) is not { } uevent)
            {
                return ExitCodes.NoInput;
            }

            reports.Add(RuleTestReport.Create(rules, factory.Create(uevent)));
        }
        else
        {
            if (!File.Exists(options.Replay))
            {
                stderr.WriteLine($"kvm-udev-agent: {options.Replay}: no such file");
                return ExitCodes.NoInput;
            }

            int lineNumber = 0;
            foreach (string line in File.ReadLines(options.Replay!))
            {
                lineNumber++;
                if (line.Length == 0)
                {
                    continue;
                }

                if (!UeventRecordReader.TryParseLine(line, out UeventRecord? record, out string? error))
                {
                    stderr.WriteLine($"{options.Replay}:{lineNumber}: error: {error}");
                    return ExitCodes.DataError;
                }

                reports.Add(RuleTestReport.Create(rules, factory.Create(record.Event)));
            }
        }

        if (options.Json)
        {
            RulesCommand.WriteJson(stdout, reports, RulesJsonContext.Default.ListRuleTestReport);
        }
        else
        {
            foreach (RuleTestReport report in reports)
            {
                Print(report, stdout);
            }
        }

        return ExitCodes.Success;
    }

    private static void Print(RuleTestReport report, TextWriter stdout)
    {
        PlanDevice d = report.Device;
        stdout.WriteLine($"device: {d.Action} {d.DevPath} ({d.Subsystem}{(d.DevType is null ? string.Empty : "/" + d.DevType)})"
            + $" vendor={d.Vendor ?? "-"} product={d.Product ?? "-"} serial={d.Serial ?? "-"} label={d.FsLabel ?? "-"}");
        if (d.Interfaces is not null || d.InterfacesProblem is not null)
        {
            stdout.WriteLine($"interfaces: {d.Interfaces ?? "[]"} from {d.InterfacesFrom}"
                + (d.InterfacesProblem is null ? string.Empty : $"; incomplete, so no 'interfaces' condition holds: {d.InterfacesProblem}"));
        }

        foreach (RuleTrace t in report.Rules)
        {
            var line = new StringBuilder($"  {t.Rule} ({Path.GetFileName(t.File)}): {t.Outcome}");
            if (t.FailedKey is not null)
            {
                line.Append($": {t.FailedKey} expected {t.Expected}, device has {(t.Actual is null ? "nothing" : "\"" + t.Actual + "\"")}");
            }

            if (t.Note is not null)
            {
                line.Append($" ({t.Note})");
            }

            stdout.WriteLine(line.ToString());
        }

        stdout.WriteLine(report.Plan.IsEmpty ? "plan: nothing to do" : "plan:");
        foreach (PlannedAction action in report.Plan.Actions)
        {
            stdout.WriteLine($"  {action.Describe()}  [rule {action.Rule}]");
        }
    }

    private static Uevent? ReadDevice(string sysfsRoot, string devPath, string action, TextWriter stderr)
    {
        string root = sysfsRoot.TrimEnd('/');
        // Accept paths under the configured root, under /sys (as people copy them), or relative to the root.
        string full = devPath.StartsWith(root + "/", StringComparison.Ordinal) ? devPath
            : devPath.StartsWith("/sys/", StringComparison.Ordinal) ? Path.Join(root, devPath[4..])
            : Path.Join(root, devPath);
        string resolved;
        try
        {
            // /sys/bus/usb/devices/2-1.4 and /sys/class/block/sdb are symlinks into /sys/devices.
            resolved = new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(full);
        }
        catch (IOException)
        {
            resolved = full;
        }

        string relative = resolved.StartsWith(root + "/", StringComparison.Ordinal) ? resolved[root.Length..] : devPath;
        var sysfs = new SysfsDevice(root, relative);
        if (!sysfs.Exists || sysfs.Subsystem is not { } subsystem)
        {
            stderr.WriteLine($"kvm-udev-agent: {devPath}: no such device under {root} (expected /sys/devices/... or a link to it)");
            return null;
        }

        Uevent? uevent = new ColdplugEnumerator(root).TryRead(relative, subsystem);
        if (uevent is null)
        {
            stderr.WriteLine($"kvm-udev-agent: {devPath}: cannot read its uevent file");
            return null;
        }

        return action == "add" ? uevent : Uevent.Create(uevent.Source,
            uevent.Properties.Select(p => p.Key == UeventKeys.Action ? new KeyValuePair<string, string>(p.Key, action) : p), coldplug: false);
    }
}

/// <summary>The options of <c>test</c>.</summary>
internal sealed record TestOptions(string? DevPath, string Action, string? Replay, string RulesDir, string SysfsRoot, bool Json);
