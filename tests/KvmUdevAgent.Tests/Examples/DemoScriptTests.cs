using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Examples;

public sealed class DemoScriptTests
{
    [Fact]
    public async Task DemoScript_RunsToCompletion_DriveShownInVmThenGone()
    {
        var result = await ProcessRunner.RunAsync(
            "bash",
            [Path.Combine(RepoPaths.Root, "examples", "demo.sh")],
            new Dictionary<string, string> { ["KUA_BINARY"] = RepoPaths.AgentBinary },
            timeout: TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"Product QEMU USB MSD, ID: kua-b[0-9a-f]{12}", result.Stdout);
        Assert.Contains("\"ro\": true", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("detached", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("(no USB devices: the drive is gone and QEMU is clean)", result.Stdout, StringComparison.Ordinal);
    }
}
