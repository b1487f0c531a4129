using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class MonitorEndpointTests
{
    [Theory]
    [InlineData("unix:/tmp/winxp.fifo", "Unix", "/tmp/winxp.fifo", null, 0)]
    [InlineData("tcp:127.0.0.1:4411", "Tcp", null, "127.0.0.1", 4411)]
    [InlineData("telnet:localhost:4446", "Telnet", null, "localhost", 4446)]
    [InlineData("tcp:[::1]:4444", "Tcp", null, "::1", 4444)]
    public void TryParse_SeedForms_Accepts(string text, string kind, string? path, string? host, int port)
    {
        Assert.True(MonitorEndpoint.TryParse(text, out MonitorEndpoint endpoint, out string? reason), reason);
        Assert.Equal(kind, endpoint.Kind.ToString());
        Assert.Equal(path, endpoint.Path);
        Assert.Equal(host, endpoint.Host);
        Assert.Equal(port, endpoint.Port);
        Assert.Equal(text, endpoint.ToString());
    }

    [Theory]
    [InlineData("", "expected unix:/path, tcp:host:port or telnet:host:port")]
    [InlineData("unix:relative.sock", "expected an absolute socket path after 'unix:' (without QEMU's ',server,nowait' options)")]
    [InlineData("unix:/tmp/x.sock,server,nowait", "expected an absolute socket path after 'unix:' (without QEMU's ',server,nowait' options)")]
    [InlineData("tcp:127.0.0.1", "expected host:port")]
    [InlineData("tcp:127.0.0.1:0", "expected a port number from 1 to 65535")]
    [InlineData("tcp:127.0.0.1:70000", "expected a port number from 1 to 65535")]
    [InlineData("tcp:::1:4444", "an IPv6 address must be written in brackets: [::1]:port")]
    [InlineData("tcp:bad host:1", "the host contains a character that is not allowed in a host name or address")]
    [InlineData("udp:127.0.0.1:1", "unknown monitor scheme; expected unix:/path, tcp:host:port or telnet:host:port")]
    public void TryParse_Malformed_RejectsWithReason(string text, string expected)
    {
        Assert.False(MonitorEndpoint.TryParse(text, out _, out string? reason));
        Assert.Equal(expected, reason);
    }
}
