using System.CommandLine;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Cli;

/// <summary>Options several verbs share, with one spelling and one help text each.</summary>
internal static class CommonOptions
{
    public static Option<string> Config() => new("--config", "-c")
    {
        Description = $"Configuration file (default {AgentConfigLoader.DefaultPath}; a missing default file means built-in defaults)",
        HelpName = "FILE",
    };

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print JSON for scripts instead of text",
    };

    /// <summary>
    /// Loads the configuration named by <c>--config</c> (which must then exist) or the default file.
    /// On failure prints every diagnostic to stderr and returns null.
    /// </summary>
    public static AgentConfig? LoadConfig(string? path, TextWriter error)
    {
        bool named = path is not null;
        bool loaded = AgentConfigLoader.TryLoad(path ?? AgentConfigLoader.DefaultPath, mustExist: named, out AgentConfig config, out var diagnostics);
        foreach (var d in diagnostics)
        {
            error.WriteLine(d);
        }

        if (loaded)
        {
            return config;
        }

        error.WriteLine("kvm-udev-agent: the configuration has errors; fix them and try again (see 'kvm-udev-agent run --help')");
        return null;
    }
}
