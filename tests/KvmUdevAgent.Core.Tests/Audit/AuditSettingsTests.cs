using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Tests.Audit;

public sealed class AuditSettingsTests
{
    [Fact]
    public void TryCreate_Defaults_UnixDevLogDaemon()
    {
        Assert.True(AuditSettings.TryCreate(new AuditConfig(), out AuditSettings? settings, out _));
        Assert.Equal(new SyslogEndpoint(SyslogTransportKind.Unix, "/dev/log", "", 0), settings.Endpoint);
        Assert.Equal(SyslogFacility.Daemon, settings.Facility);
        Assert.Equal("32473", settings.EnterpriseId);
    }

    [Theory]
    [InlineData("udp:10.0.0.1:514", "Udp", "10.0.0.1", 514)]
    [InlineData("tcp:log.example.org:6514", "Tcp", "log.example.org", 6514)]
    [InlineData("tcp:[::1]:514", "Tcp", "::1", 514)]
    [InlineData("off", "Off", "", 0)]
    public void TryParse_Endpoint_Accepts(string text, string kind, string host, int port)
    {
        Assert.True(SyslogEndpoint.TryParse(text, out SyslogEndpoint? endpoint, out _));
        Assert.Equal((kind, host, port), (endpoint.Kind.ToString(), endpoint.Host, endpoint.Port));
    }

    [Theory]
    [InlineData("unix:dev/log", "the unix socket path must be absolute")]
    [InlineData("udp:host", "expected udp:host:port")]
    [InlineData("tcp:host:70000", "expected tcp:host:port")]
    [InlineData("http://x", "unknown transport 'http'")]
    public void TryParse_Endpoint_RejectsWithReason(string text, string reason)
    {
        Assert.False(SyslogEndpoint.TryParse(text, out _, out string? why));
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_UnknownFacility_RejectsNamingTheKey()
    {
        Assert.False(AuditSettings.TryCreate(new AuditConfig { Facility = "local9" }, out _, out string? reason));
        Assert.StartsWith("audit.facility: unknown syslog facility 'local9'", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_AppNameWithSpace_Rejects()
    {
        Assert.False(AuditSettings.TryCreate(new AuditConfig { AppName = "kvm agent" }, out _, out string? reason));
        Assert.StartsWith("audit.app_name:", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_Local5AndOwnEnterpriseId_Accepts()
    {
        Assert.True(AuditSettings.TryCreate(new AuditConfig { Facility = "local5", EnterpriseId = "99999" }, out AuditSettings? settings, out _));
        Assert.Equal((SyslogFacility.Local5, "99999"), (settings.Facility, settings.EnterpriseId));
    }
}
