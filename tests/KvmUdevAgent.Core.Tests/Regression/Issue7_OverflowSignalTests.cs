using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Netns;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Tests.Regression;

/// <summary>
/// Issue 7 found devices left attached after a netlink overflow during a storm. The kernel returns
/// ENOBUFS before the datagrams still queued, and reports no further loss until the queue has been
/// emptied; the source signalled the overflow at once, so the daemon's resync snapshot was taken
/// before older events (an add whose remove was then lost) were read, and nothing undid them.
/// The source now signals once the queue is empty, after everything from before the loss.
/// </summary>
public sealed class Issue7_OverflowSignalTests
{
    [Fact]
    public async Task Issue7_UdevSourceOverrun_SignalledOnlyAfterEveryQueuedDatagramWasHandedOn()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        // A one-event ring that nobody reads yet: the loop drops what does not fit (or the socket overruns).
        await using IUeventSource source = netns.Run(() => UeventSources.Open(SourceKind.Udev, new UeventSourceOptions { ReceiveBufferBytes = 4096, Capacity = 1 }, NullLogger.Instance));
        using var injector = new UeventInjector(netns);
        for (int i = 0; i < 100; i++)
        {
            injector.SendUdev("ACTION=add", "DEVPATH=/devices/storm/" + i, "SUBSYSTEM=usb");
        }

        // Read until the overflow is signalled.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int stormEvents = 0;
        UeventOverflow? overflow;
        while (!source.Overflows.TryRead(out overflow))
        {
            if (source.Events.TryRead(out _))
            {
                stormEvents++;
                continue;
            }

            await Task.WhenAny(source.Events.WaitToReadAsync(cts.Token).AsTask(), source.Overflows.WaitToReadAsync(cts.Token).AsTask()).WaitAsync(cts.Token);
        }

        // The signal says how many events were handed on before it: all of them were there for the
        // reader by then, read already or (at most one) still in the one-event ring. The consumer
        // waits for that many before its resync snapshot.
        Assert.InRange(overflow.AcceptedBefore, 1, stormEvents + 1);

        // The source keeps running. The loop drops whatever finds the one-event ring full (storm
        // datagrams still arriving too): repeat the probe until one gets through.
        string token = Guid.NewGuid().ToString("N");
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        bool seen = false;
        while (!seen)
        {
            injector.SendUdev("ACTION=add", "DEVPATH=/devices/after", "SUBSYSTEM=usb", "KUA_TOKEN=" + token);
            await timer.WaitForNextTickAsync(cts.Token);
            while (source.Events.TryRead(out Uevent? e))
            {
                if (e.GetString("KUA_TOKEN") == token)
                {
                    seen = true;
                }
                else if (e.DevPath != "/devices/after")
                {
                    stormEvents++;
                }
            }
        }

        Assert.True(stormEvents < 100, "nothing was lost: the test did not overflow the ring or the socket");
    }
}
