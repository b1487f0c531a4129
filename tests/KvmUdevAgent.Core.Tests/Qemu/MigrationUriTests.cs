using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class MigrationUriTests
{
    [Theory]
    [InlineData("tcp:192.0.2.7:4444")]
    [InlineData("tcp:backup-host.example:4444")]
    [InlineData("tcp:[2001:db8::7]:4444")]
    [InlineData("unix:/run/qemu/winxp-incoming.sock")]
    public void Accepts_TcpAndUnix(string text)
    {
        Assert.True(MigrationUri.TryParse(text, out MigrationUri? uri, out string? reason), reason);
        Assert.Equal(text, uri.Text);
        // It goes into an HMP line as one word.
        Assert.Equal("migrate -d " + text, new HmpLine("migrate").Flag('d').Word(uri).ToString());
    }

    [Theory]
    [InlineData("", "the destination URI is empty; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    [InlineData("exec:cat > /tmp/x", "exec: destinations are refused (they run a shell command inside QEMU); expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    [InlineData("tcp:host", "'tcp:host' is not tcp:HOST:PORT with a host name or address and a port 1-65535; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    [InlineData("tcp:host:0", "'tcp:host:0' is not tcp:HOST:PORT with a host name or address and a port 1-65535; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    [InlineData("tcp:h,x=1:44", "'tcp:h,x=1:44' is not tcp:HOST:PORT with a host name or address and a port 1-65535; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    [InlineData("unix:relative.sock", "'unix:relative.sock': a unix: destination needs an absolute path of letters, digits and _ . / -; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    [InlineData("unix:/tmp/a b\ninfo", "'unix:/tmp/a b?info': a unix: destination needs an absolute path of letters, digits and _ . / -; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    [InlineData("rdma:host:4444", "'rdma:host:4444' is not a migration URI the agent sends; expected tcp:HOST:PORT (e.g. tcp:192.0.2.7:4444) or unix:/path/to/socket")]
    public void Rejects_WithReason(string text, string expected)
    {
        Assert.False(MigrationUri.TryParse(text, out _, out string? reason));
        Assert.Equal(expected, reason);
    }
}
