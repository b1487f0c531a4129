using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KvmUdevAgent.Core.Tests.Audit;

public sealed class AuditServiceCollectionExtensionsTests
{
    [Fact]
    public void AddAudit_Off_RegistersNullWriter()
    {
        Assert.True(AuditSettings.TryCreate(new AuditConfig { Syslog = "off" }, out AuditSettings? settings, out _));
        var services = new ServiceCollection().AddAudit(settings);
        ServiceDescriptor writer = Assert.Single(services);
        Assert.Same(NullAuditWriter.Instance, writer.ImplementationInstance);
    }

    [Fact]
    public async Task AddAudit_Enabled_RegistersSinkOwnedByTheContainer()
    {
        var services = new ServiceCollection().AddAudit(AuditTestSupport.Settings("udp:127.0.0.1:9"));
        Assert.Equal([typeof(AuditSink), typeof(IAuditWriter)], services.Select(d => d.ServiceType));
        Assert.All(services, d => Assert.Equal(ServiceLifetime.Singleton, d.Lifetime));
        Assert.All(services, d => Assert.NotNull(d.ImplementationFactory));
        var sink = (AuditSink)services[0].ImplementationFactory!(null!);
        await sink.DisposeAsync();
    }
}
