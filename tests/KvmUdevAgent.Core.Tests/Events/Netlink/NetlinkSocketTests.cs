using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Tests.Netns;

namespace KvmUdevAgent.Core.Tests.Events.Netlink;

/// <summary>
/// <see cref="NetlinkSocket.TryReceive(NetlinkReceiveBatch)"/> (<c>recvmmsg</c>) against a real socket in a
/// private network namespace: each datagram of a batch keeps its own length, truncation, sender and
/// credentials, and an overrun comes where one <c>recvmsg</c> at a time would see it.
/// </summary>
public sealed class NetlinkSocketTests
{
    [Fact]
    public void TryReceive_Batch_EachDatagramKeepsItsLengthTruncationAndCredentials()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        using NetlinkSocket socket = netns.Run(() => NetlinkSocket.Open(NetlinkGroup.Udev, 1024 * 1024));
        using var injector = new UeventInjector(netns);
        var sent = new List<byte[]>();
        for (int i = 0; i < 20; i++)
        {
            // One datagram larger than a slot; one from a non-root sender.
            byte[] datagram = UdevMessageWriter.Write("ACTION=add", $"DEVPATH=/devices/{i}", "SUBSYSTEM=usb", "PAD=" + new string('x', i == 7 ? 400 : i));
            sent.Add(datagram);
            if (i == 5)
            {
                injector.SendAsUid(65534, datagram);
            }
            else
            {
                injector.Send(datagram);
            }
        }

        using var batch = new NetlinkReceiveBatch(16, 256);
        int first = socket.TryReceive(batch);
        Assert.Equal(16, first);
        var received = new List<(NetlinkReceiveResult Result, byte[] Bytes)>();
        for (int k = 0; k < first; k++)
        {
            received.Add((batch.Results[k], batch.Datagram(k).ToArray()));
        }

        int second = socket.TryReceive(batch);
        Assert.Equal(4, second);
        for (int k = 0; k < second; k++)
        {
            received.Add((batch.Results[k], batch.Datagram(k).ToArray()));
        }

        Assert.Equal(0, socket.TryReceive(batch));
        for (int i = 0; i < sent.Count; i++)
        {
            (NetlinkReceiveResult result, byte[] bytes) = received[i];
            Assert.False(result.Overflow);
            Assert.Equal(i == 7, result.Truncated);
            Assert.Equal(Math.Min(sent[i].Length, 256), result.Length);
            Assert.Equal(sent[i].AsSpan(0, result.Length).ToArray(), bytes);
            Assert.True(result.HasCredentials);
            Assert.Equal(i == 5 ? 65534u : 0u, result.Uid);
            Assert.NotEqual(0u, result.SenderPid);
            Assert.Equal(received[0].Result.SenderPid, result.SenderPid);
        }
    }

    [Fact]
    public void TryReceive_BatchAfterOverrun_ReportsTheOverrunFirstThenTheQueuedDatagrams()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        using NetlinkSocket socket = netns.Run(() => NetlinkSocket.Open(NetlinkGroup.Udev, 4096));
        using var injector = new UeventInjector(netns);
        byte[] message = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/flood", "SUBSYSTEM=usb", "ID_SERIAL_SHORT=0123456789");
        for (int i = 0; i < 200; i++)
        {
            injector.Send(message);
        }

        using var batch = new NetlinkReceiveBatch(16, NetlinkUeventSource.MaxDatagramBytes);
        Assert.Equal(1, socket.TryReceive(batch));
        Assert.True(batch.Results[0].Overflow);
        int queued = 0;
        for (int n; (n = socket.TryReceive(batch)) > 0;)
        {
            for (int k = 0; k < n; k++)
            {
                Assert.False(batch.Results[k].Overflow);
                Assert.Equal(message, batch.Datagram(k).ToArray());
            }

            queued += n;
        }

        // What the small buffer held before the kernel started dropping: some, not all.
        Assert.InRange(queued, 1, 199);
    }
}
