using System.CommandLine;

namespace KvmUdevAgent.Cli;

/// <summary>The options every verb that talks to the daemon shares; each verb creates its own instances.</summary>
internal static class ControlClientOptions
{
    /// <summary>The default of <c>control_socket</c> (design §3).</summary>
    public const string DefaultSocketPath = "/run/kvm-udev-agent.sock";

    public static Option<string> CreateSocketOption() => new("--control-socket")
    {
        Description = "Path of the daemon's control socket",
        HelpName = "PATH",
        DefaultValueFactory = _ => DefaultSocketPath,
    };

    public static Option<bool> CreateJsonOption() => new("--json")
    {
        Description = "Print the daemon's answer as JSON, for scripts",
    };
}
