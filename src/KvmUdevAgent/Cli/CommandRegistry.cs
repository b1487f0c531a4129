using System.CommandLine;

namespace KvmUdevAgent.Cli;

/// <summary>Every top-level verb, one line each; each verb lives in its own <c>*Command.cs</c>.</summary>
internal static class CommandRegistry
{
    public static IEnumerable<Command> Create()
    {
        yield return RunCommand.Create();
        yield return StatusCommand.Create();
        yield return ReloadCommand.Create();
        yield return VmsCommand.Create();
        yield return MonitorCommand.Create();
        yield return DevicesCommand.Create();
        yield return AttachCommand.CreateAttach();
        yield return AttachCommand.CreateDetach();
        yield return MonitorPassthroughCommand.Create();
        yield return MigrateCommand.Create();
        yield return RulesCommand.Create();
        yield return TestCommand.Create();
    }
}
