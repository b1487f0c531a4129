using KvmUdevAgent.Cli;

namespace KvmUdevAgent.Tests.Cli;

public sealed class VmsCommandTests
{
    [Fact]
    public async Task Vms_MalformedMonitor_ExitsUsage()
    {
        Assert.Equal(ExitCodes.Usage, await KvmUdevAgent.Program.Main(["vms", "--monitor", "winxp=udp:127.0.0.1:1"]));
        Assert.Equal(ExitCodes.Usage, await KvmUdevAgent.Program.Main(["vms", "--monitor", "no-equals-sign"]));
    }

    [Fact]
    public async Task Vms_MonitorNotThere_ExitsUnavailable()
    {
        string socket = Path.Combine(Path.GetTempPath(), "kua-absent-" + Guid.NewGuid().ToString("N") + ".sock");
        Assert.Equal(ExitCodes.Unavailable, await KvmUdevAgent.Program.Main(["vms", "--monitor", "winxp=unix:" + socket, "--json"]));
    }
}
