using System.CommandLine;
using System.Reflection;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Cli;

/// <summary>
/// <c>kvm-udev-agent generate-docs --output DIR</c> (hidden): writes the manual pages
/// kvm-udev-agent(8), from this binary's own command tree, and kvm-udev-agent.rules(5), from the
/// rule key table. For the package build and install.sh, so the pages always match the binary.
/// </summary>
internal static class GenerateDocsCommand
{
    public static Command Create()
    {
        Option<string> output = new("--output", "-o") { Description = "Directory to write the manual pages into (created if missing)", HelpName = "DIR", Required = true };
        Command command = new("generate-docs", "Write the manual pages kvm-udev-agent.8 and kvm-udev-agent.rules.5 into DIR") { output };
        command.Hidden = true;
        command.SetAction(parseResult =>
        {
            string directory = parseResult.GetValue(output)!;
            var root = (RootCommand)parseResult.RootCommandResult.Command;
            try
            {
                Directory.CreateDirectory(directory);
                File.WriteAllText(Path.Combine(directory, ManPage.FileName), ManPage.Generate(root, Version));
                File.WriteAllText(Path.Combine(directory, RuleManPage.FileName), RuleManPage.Generate(Version));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"kvm-udev-agent: cannot write the manual pages into {directory}: {e.Message}");
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The version <c>--version</c> prints, without the source revision.</summary>
    public static string Version =>
        (typeof(GenerateDocsCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];
}
