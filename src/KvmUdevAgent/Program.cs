using System.CommandLine;
using KvmUdevAgent.Cli;

namespace KvmUdevAgent;

public static class Program
{
    /// <summary>Entry point; returns the process exit code.</summary>
    public static Task<int> Main(string[] args)
    {
        ParseResult parseResult = CreateRootCommand().Parse(args);
        // 'run' is a Generic Host whose console lifetime owns SIGTERM and SIGINT: it stops the
        // daemon and returns its exit status. System.CommandLine's own handler would instead end
        // the process with 143 two seconds after SIGTERM, whatever the daemon was finishing.
        InvocationConfiguration configuration = RunCommand.IsRun(parseResult)
            ? new InvocationConfiguration { ProcessTerminationTimeout = null }
            : new InvocationConfiguration();
        return parseResult.InvokeAsync(configuration);
    }

    /// <summary>The whole command tree: what the binary parses, and what its manual page and completion list.</summary>
    internal static RootCommand CreateRootCommand()
    {
        RootCommand root = new("kvm-udev-agent: route hotplugged USB and block devices to QEMU/KVM VMs, mounts and hooks, by YAML rules, with a syslog audit trail.");
        foreach (Command command in CommandRegistry.Create())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }
}
