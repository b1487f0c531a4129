using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Libvirt;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Vms;

namespace KvmUdevAgent.Core.Tests.Vms;

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
            Assert.True(registry.TryGet("centos", out IVm? centos));
            VmMonitor monitor = Assert.IsType<QemuVm>(centos).Monitor;
            Assert.Equal(MonitorProtocol.Hmp, monitor.ConfiguredProtocol);
            Assert.Equal("tcp:127.0.0.1:4446", centos.Target);
            Assert.Equal(2, registry.Vms.Count);
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
            Assert.Empty(registry.Vms);
        }
    }

    [Fact]
    public async Task TryCreate_LibvirtDomains_OneConnectionPerUri()
    {
        Assert.True(VmRegistry.TryCreate(
            [
                new VmConfig { Name = "a", Libvirt = "dom-a" },
                new VmConfig { Name = "b", Libvirt = "dom-b" },
                new VmConfig { Name = "c", Libvirt = "dom-c", Uri = "qemu:///system?socket=/nowhere" },
                new VmConfig { Name = "q", Monitor = "unix:/tmp/q.qmp" },
            ], null, null, out VmRegistry registry, out IReadOnlyList<string> errors), string.Join("; ", errors));
        await using (registry)
        {
            LibvirtDomain[] domains = [.. registry.Vms.OfType<LibvirtDomain>().OrderBy(d => d.Name, StringComparer.Ordinal)];
            Assert.Equal(["dom-a", "dom-b", "dom-c"], domains.Select(d => d.Domain));
            Assert.Same(domains[0].Connection, domains[1].Connection);
            Assert.NotSame(domains[0].Connection, domains[2].Connection);
            Assert.Equal("libvirt:dom-a (qemu:///system)", domains[0].Target);
            Assert.IsType<QemuVm>(registry.Vms.Single(v => v.Name == "q"));
        }
    }
}
