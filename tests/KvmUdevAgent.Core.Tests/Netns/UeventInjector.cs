using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;

namespace KvmUdevAgent.Core.Tests.Netns;

/// <summary>
/// Sends netlink uevent datagrams inside the namespace of a <see cref="NetnsThread"/>, as root
/// (like systemd-udevd) or as a non-root sender. Never create one in the test's own namespace.
/// </summary>
internal sealed class UeventInjector : IDisposable
{
    private readonly NetnsThread _netns;
    private readonly NetlinkSocket _socket;

    public UeventInjector(NetnsThread netns)
    {
        _netns = netns;
        if (netns.NamespaceId == NetnsThread.CurrentNamespaceId())
        {
            throw new InvalidOperationException("refusing to inject uevents into the test's own network namespace");
        }

        _socket = netns.Run(() => NetlinkSocket.Open(NetlinkGroup.None));
    }

    /// <summary>Sends a raw datagram to <paramref name="group"/> (1 kernel, 2 udev) as root.</summary>
    public void Send(byte[] datagram, uint group = NetlinkGroup.Udev) => _socket.Send(datagram, group);

    /// <summary>Sends a udev-format message with these properties, as systemd-udevd would.</summary>
    public void SendUdev(params string[] keyValues) => Send(UdevMessageWriter.Write(keyValues), NetlinkGroup.Udev);

    /// <summary>Sends a datagram from a thread whose real uid is <paramref name="uid"/>.</summary>
    public void SendAsUid(uint uid, byte[] datagram, uint group = NetlinkGroup.Udev) =>
        _netns.RunAsRealUid(uid, () => _socket.Send(datagram, group));

    public void Dispose() => _socket.Dispose();
}
