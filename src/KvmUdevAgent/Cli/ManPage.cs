using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;
using System.Text;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary>
/// Generates <c>kvm-udev-agent(8)</c>. The commands, their arguments and options come from the
/// System.CommandLine tree the binary parses with, so a new verb is in the manual page as soon as
/// it is in <see cref="CommandRegistry"/>; exit codes come from <see cref="ExitCodes.All"/>.
/// The package build and install.sh write it with the hidden <c>generate-docs</c> verb.
/// </summary>
internal static class ManPage
{
    public const string FileName = "kvm-udev-agent.8";

    public static string Generate(RootCommand root, string version)
    {
        var man = new StringBuilder();
        man.Append(".TH KVM\\-UDEV\\-AGENT 8 \"\" \"kvm\\-udev\\-agent ").Append(Roff.Escape(version, literal: true)).Append("\" \"System Administration\"\n");
        man.Append(".SH NAME\nkvm\\-udev\\-agent \\- route hotplugged USB and block devices to QEMU/KVM virtual machines, mounts and hooks\n");
        man.Append(".SH SYNOPSIS\n").Append(Roff.Bold("kvm-udev-agent")).Append(' ').Append(Roff.Italic("COMMAND")).Append(" [").Append(Roff.Italic("OPTIONS")).Append("]\n.br\n")
            .Append(Roff.Bold("kvm-udev-agent run")).Append(" [").Append(Roff.Bold("--config")).Append(' ').Append(Roff.Italic("FILE")).Append("]\n");
        man.Append(".SH DESCRIPTION\n").Append(Roff.Text(root.Description ?? "")).Append('\n');
        man.Append(".PP\n").Append(Roff.Text(
            "One executable: `run` is the daemon (normally started by systemd), the other commands are its CLI. "
            + "Each event is matched against the rules (see kvm-udev-agent.rules(5)); the plan decided for it attaches the device to a VM "
            + "through the VM's QEMU monitor (QMP or HMP), mounts it below the mount base, or runs hooks, and every decision is "
            + "written as an RFC 5424 audit record to syslog. Every command has `--help`; `--json` prints the same result for scripts.")).Append('\n');

        man.Append(".SH COMMANDS\n");
        foreach (Command command in root.Subcommands.Where(c => !c.Hidden))
        {
            AppendCommand(man, command, "kvm-udev-agent");
        }

        man.Append(".SH OPTIONS\nEvery command takes:\n");
        man.Append(".TP\n").Append(Roff.Bold("-h")).Append(", ").Append(Roff.Bold("--help")).Append("\nShow the command's help and exit.\n");
        man.Append(".TP\n").Append(Roff.Bold("--version")).Append("\nPrint the version and exit (top level only).\n");

        man.Append(".SH EXIT STATUS\n");
        foreach ((int code, string meaning) in ExitCodes.All)
        {
            man.Append(".TP\n").Append(Roff.Bold(code.ToString(System.Globalization.CultureInfo.InvariantCulture))).Append('\n').Append(Roff.Text(meaning)).Append('\n');
        }

        man.Append(".SH SIGNALS\nFor \\fBrun\\fR:\n");
        Tagged(man, "SIGHUP", "Reload the rules, as `kvm-udev-agent reload` does; a bad set keeps the previous one. An edit of the rules directory is reloaded by itself; an edit followed by SIGHUP is reloaded once.");
        Tagged(man, "SIGTERM, SIGINT", "Stop: finish the actions in flight, flush the audit queue for at most a quarter of a second, log how many audit records could not be delivered, and exit 0. Under systemd STOPPING=1 is sent first.");

        man.Append(".SH ENVIRONMENT\n");
        Tagged(man, "NOTIFY_SOCKET", "Set by systemd for Type=notify services: `run` sends READY=1 once the rules are loaded, the event source is open and coldplug is queued, and STOPPING=1 when it begins to stop.");

        man.Append(".SH CONFIGURATION\n").Append(Roff.Text(
            $"`{AgentConfigLoader.DefaultPath}` (YAML; every key optional, an unknown key is an error reported as file:line:column; "
            + "the installed file is commented and shows each default). "
            + "`log` is `stderr` (the default; under systemd it reaches the journal) or `syslog` (the daemon's own log as RFC 5424 "
            + "to the audit target, or to unix:/dev/log when audit is off). The keys:")).Append('\n');
        foreach ((string section, IReadOnlyList<string> keys) in AgentConfigLoader.Keys)
        {
            man.Append(".TP\n").Append(Roff.Escape(section, literal: true)).Append('\n').Append(string.Join(", ", keys.Select(Roff.Bold))).Append('\n');
        }

        man.Append(".SH FILES\n");
        Tagged(man, AgentConfigLoader.DefaultPath, "The configuration.");
        Tagged(man, "/etc/kvm-udev-agent/rules.d/*.yaml", "Rule files, read in file-name order; owned by root and not writable by group or others. See kvm-udev-agent.rules(5).");
        Tagged(man, "/var/lib/kvm-udev-agent/state.json", "What the agent attached and mounted, written atomically, reconciled with QEMU and the mount table at start.");
        Tagged(man, ControlClientOptions.DefaultSocketPath, "The control socket the CLI talks to (mode 0600, or 0660 with control_group).");
        Tagged(man, "/media/kvm-udev-agent", "The mount base: mount points are made below it, never elsewhere.");
        Tagged(man, "/lib/systemd/system/kvm-udev-agent.service", "The systemd unit (Type=notify; systemctl reload sends SIGHUP).");
        Tagged(man, "/dev/log", "Where audit records go by default.");

        man.Append(".SH SEE ALSO\n\\fBkvm\\-udev\\-agent.rules\\fR(5), \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBudevadm\\fR(8), \\fBqemu\\-system\\-x86_64\\fR(1), \\fBrsyslogd\\fR(8)\n");
        return man.ToString();
    }

    private static void AppendCommand(StringBuilder man, Command command, string parent)
    {
        string path = parent + " " + command.Name;
        var visibleOptions = command.Options.Where(o => !o.Hidden && o is not HelpOption and not VersionOption).ToList();
        if (command.Action is not null || command.Subcommands.Count == 0)
        {
            man.Append(".TP\n").Append(Roff.Bold(path));
            foreach (Argument argument in command.Arguments.Where(a => !a.Hidden))
            {
                string name = Roff.Italic(argument.HelpName ?? argument.Name.ToUpperInvariant()) + (argument.Arity.MaximumNumberOfValues > 1 ? "..." : "");
                man.Append(' ').Append(argument.Arity.MinimumNumberOfValues == 0 ? "[" + name + "]" : name);
            }

            if (visibleOptions.Count > 0)
            {
                man.Append(" [").Append(Roff.Italic("OPTIONS")).Append(']');
            }

            man.Append('\n').Append(Roff.Text(command.Description ?? "")).Append('\n');
            if (visibleOptions.Count > 0)
            {
                man.Append(".RS\n");
                foreach (Option option in visibleOptions)
                {
                    man.Append(".TP\n").Append(OptionSynopsis(option)).Append('\n').Append(Roff.Text(option.Description ?? "")).Append('\n');
                }

                man.Append(".RE\n");
            }
        }

        foreach (Command sub in command.Subcommands.Where(c => !c.Hidden))
        {
            AppendCommand(man, sub, path);
        }
    }

    private static string OptionSynopsis(Option option)
    {
        var names = new List<string> { Roff.Bold(option.Name) };
        names.AddRange(option.Aliases.Order(StringComparer.Ordinal).Select(Roff.Bold));
        string synopsis = string.Join(", ", names);
        if (option.Arity.MaximumNumberOfValues == 0 || option.ValueType == typeof(bool))
        {
            return synopsis;
        }

        string value = option.HelpName ?? FixedValues(option) ?? "VALUE";
        return synopsis + " " + Roff.Italic(value);
    }

    // The values an option accepts only from a list (AcceptOnlyFromAmong), as a|b|c.
    private static string? FixedValues(Option option)
    {
        string[] values = [.. option.GetCompletions(CompletionContext.Empty).Select(c => c.Label)];
        return values.Length == 0 ? null : string.Join('|', values);
    }

    private static void Tagged(StringBuilder man, string tag, string text) =>
        man.Append(".TP\n").Append(Roff.Bold(tag)).Append('\n').Append(Roff.Text(text)).Append('\n');
}
