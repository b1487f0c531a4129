using System.CommandLine;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary><c>rules list|show|add|remove|enable|disable|validate</c>, and the options they share.</summary>
internal static class RulesCommand
{
    public static Command Create()
    {
        var command = new Command("rules", "List, show, add, remove, enable, disable and validate rules.");
        command.Subcommands.Add(RulesListCommand.Create());
        command.Subcommands.Add(RulesShowCommand.Create());
        command.Subcommands.Add(RulesAddCommand.Create());
        command.Subcommands.Add(RulesRemoveCommand.Create());
        command.Subcommands.Add(RulesEnableCommand.Create(enable: true));
        command.Subcommands.Add(RulesEnableCommand.Create(enable: false));
        command.Subcommands.Add(RulesValidateCommand.Create());
        return command;
    }

    // The installed configuration (if there is one, and it is valid) gives the rules directory
    // and the VM names that rules may name, as the daemon would see them.
    private static readonly Lazy<AgentConfig?> s_installed = new(() =>
        AgentConfigLoader.TryLoad(AgentConfigLoader.DefaultPath, mustExist: true, out AgentConfig config, out _) ? config : null);

    public static Option<string> RulesDirOption() => new("--rules-dir")
    {
        Description = $"Directory of rule files (default: rules_dir of {AgentConfigLoader.DefaultPath}, else /etc/kvm-udev-agent/rules.d).",
        DefaultValueFactory = _ => s_installed.Value?.RulesDir ?? new AgentConfig().RulesDir,
    };

    public static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of text." };

    /// <summary>The VM names of the installed configuration; null (no check) when there is none.</summary>
    public static IReadOnlySet<string>? KnownVms => s_installed.Value?.Vms.Keys.ToHashSet(StringComparer.Ordinal);

    /// <summary>Loads the directory for read-only verbs; prints every diagnostic on failure.</summary>
    public static RuleSet? Load(string rulesDir, TextWriter stderr)
    {
        RuleLoadResult result = new RuleSetLoader(KnownVms, permissions: null).LoadDirectory(rulesDir, 1);
        if (!result.Succeeded)
        {
            foreach (RuleDiagnostic d in result.Diagnostics)
            {
                stderr.WriteLine(d.ToString());
            }

            stderr.WriteLine($"kvm-udev-agent: the rules in {rulesDir} have errors; fix them (kvm-udev-agent rules validate) and try again");
            return null;
        }

        return result.RuleSet;
    }

    public static void WriteJson<T>(TextWriter stdout, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo) =>
        stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(value, typeInfo));

    /// <summary>The file holding rule <paramref name="name"/>, or null (message printed).</summary>
    public static RuleDefinition? Find(RuleSet rules, string name, TextWriter stderr)
    {
        RuleDefinition? rule = rules.Definitions.FirstOrDefault(r => r.Name == name);
        if (rule is null)
        {
            string? suggestion = Suggestions.Closest(name, rules.Definitions.Select(r => r.Name));
            stderr.WriteLine($"kvm-udev-agent: no rule named '{name}'" + (suggestion is null ? "; see: kvm-udev-agent rules list" : $"; did you mean '{suggestion}'?"));
        }

        return rule;
    }

    /// <summary>Replaces a file atomically: temp file in the same directory, root-owned 0644, fsync, rename.</summary>
    public static void WriteAtomically(string path, string text)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("rule files are installed on Linux only");
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string temp = Path.Combine(directory, "." + Path.GetFileName(path) + ".tmp-" + Environment.ProcessId);
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            }))
            {
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            if (Tmds.Linux.LibC.geteuid() == 0)
            {
                Chown(temp);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static unsafe void Chown(string path)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (Tmds.Linux.LibC.chown(p, 0, 0) != 0)
            {
                throw new IOException($"chown root:root {path} failed (errno {Tmds.Linux.LibC.errno})");
            }
        }
    }
}
