using System.Diagnostics;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;

namespace KvmUdevAgent.Core.Tests.Netns;

public sealed class NetnsThreadTests
{
    [Fact]
    public void CreatePrivate_NewNamespace_DiffersFromTestThread()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        Assert.StartsWith("net:[", netns.NamespaceId);
        Assert.NotEqual(NetnsThread.CurrentNamespaceId(), netns.NamespaceId);
    }

    [Fact]
    public async Task Enter_ProcessInOwnNamespace_InjectsIntoThatNamespaceOnly()
    {
        // A stand-in for a daemon running under `unshare -n`: inject into its namespace from here.
        // unshare(1) enters the new namespace before it runs the shell, so "ready" means it is there.
        using Process child = TestProcess.Start("unshare", "util-linux", "--net", "--", "sh", "-c", "echo ready; exec sleep 60");
        try
        {
            Assert.Equal("ready", await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            string childNs = new FileInfo($"/proc/{child.Id}/ns/net").LinkTarget!;
            Assert.NotEqual(new FileInfo("/proc/self/ns/net").LinkTarget, childNs);
            using NetnsThread netns = NetnsThread.Enter(child.Id);
            Assert.Equal(childNs, netns.NamespaceId);

            await using var inside = (NetlinkUeventSource)netns.Run(() => UeventSources.Open(SourceKind.Udev, new UeventSourceOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
            await using var outside = (NetlinkUeventSource)UeventSources.Open(SourceKind.Udev, new UeventSourceOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            using var injector = new UeventInjector(netns);
            string token = Guid.NewGuid().ToString("N");
            injector.SendUdev("ACTION=add", "DEVPATH=/devices/test/" + token, "SUBSYSTEM=usb", "KUA_TOKEN=" + token);

            Uevent received = await inside.Events.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(token, received.GetString("KUA_TOKEN"));
            Assert.False(outside.Events.TryRead(out _));
            Assert.Equal(0, outside.Counters.Received);
        }
        finally
        {
            child.Kill();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}
