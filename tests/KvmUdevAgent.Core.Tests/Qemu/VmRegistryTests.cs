using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class VmRegistryTests
{
    [Fact]
    public async Task TryCreate_SeedVms_OneMonitorEach()
    {
        Assert.True(VmRegistry.TryCreate(
            [
                new VmConfig { Name = "winxp", Monitor = "unix:/tmp/winxp.fifo" },
                new VmConfig { Name = "centos", Monitor = "tcp:127.0.0.1:4446", Protocol = MonitorProtocol.Hmp },
            ], null, null, out VmRegistry registry, out IReadOnlyList<string> errors), string.Join("; ", errors));
        await using (registry)
        {
            Assert.True(registry.TryGet("centos", out VmMonitor? centos));
            Assert.Equal(MonitorProtocol.Hmp, centos.ConfiguredProtocol);
            Assert.Equal("tcp:127.0.0.1:4446", centos.Endpoint.ToString());
            Assert.Equal(2, registry.Monitors.Count);
        }
    }

    [Fact]
    public async Task TryCreate_BadVms_ReportsEveryOneByName()
    {
        Assert.False(VmRegistry.TryCreate(
            [
                new VmConfig { Name = "a", Monitor = "unix:relative" },
                new VmConfig { Name = "b", Monitor = "tcp:127.0.0.1:4446", Protocol = MonitorProtocol.Unknown },
                new VmConfig { Name = "c", Monitor = "tcp:127.0.0.1:1" },
            ], null, null, out VmRegistry registry, out IReadOnlyList<string> errors));
        await using (registry)
        {
            Assert.Equal(
            [
                "vm 'a': monitor: expected an absolute socket path after 'unix:' (without QEMU's ',server,nowait' options)",
                "vm 'b': protocol: expected qmp or hmp",
            ], errors);
            Assert.Empty(registry.Monitors);
        }
    }
}
