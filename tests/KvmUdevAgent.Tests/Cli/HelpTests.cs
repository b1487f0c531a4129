namespace KvmUdevAgent.Tests.Cli;

public sealed class HelpTests
{
    [Fact]
    public async Task Help_ExitsZero()
    {
        int code = await KvmUdevAgent.Program.Main(["--help"]);
        Assert.Equal(0, code);
    }
}
