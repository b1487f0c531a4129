using System.CommandLine;
using KvmUdevAgent.Cli;

namespace KvmUdevAgent;

public static class Program
{
    /// <summary>Entry point; returns the process exit code.</summary>
    public static Task<int> Main(string[] args)
    {
        RootCommand root = new("kvm-udev-agent: route hotplugged USB and block devices to QEMU/KVM VMs, mounts and hooks, by YAML rules, with a syslog audit trail.");
        foreach (Command command in CommandRegistry.Create())
        {
            root.Subcommands.Add(command);
        }

        return root.Parse(args).InvokeAsync();
    }
}
