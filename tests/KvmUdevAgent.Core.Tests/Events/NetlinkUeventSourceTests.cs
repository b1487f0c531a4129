using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Events.Netlink;
using KvmUdevAgent.Core.Tests.Netns;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Tests.Events;

/// <summary>Real netlink sockets: kernel uevents from a loop device, udev-format ones injected inside private network namespaces.</summary>
public sealed class NetlinkUeventSourceTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static NetlinkUeventSource Open(SourceKind kind, int receiveBufferBytes = 1024 * 1024) =>
        (NetlinkUeventSource)UeventSources.Open(kind, new UeventSourceOptions { ReceiveBufferBytes = receiveBufferBytes }, NullLogger.Instance);

    /// <summary>Reads until an event with <paramref name="key"/> = <paramref name="token"/> arrives (the machine may emit others meanwhile).</summary>
    private static async Task<Uevent> ReadTokenAsync(NetlinkUeventSource source, string key, string token)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        await foreach (Uevent e in source.Events.ReadAllAsync(cts.Token))
        {
            if (e.GetString(key) == token)
            {
                return e;
            }
        }

        throw new InvalidOperationException("source completed");
    }

    private static async Task<Uevent> ReadTokenAsync(NetlinkUeventSource source, string key, string token, bool describe)
    {
        try
        {
            return await ReadTokenAsync(source, key, token);
        }
        catch (OperationCanceledException) when (describe)
        {
            throw new TimeoutException($"no event with {key}={token}: received {source.Counters.Received}, accepted {source.Counters.Accepted}, rejected {string.Join(", ", source.Counters.Rejected.NonZero)}");
        }
    }

    [Fact]
    public async Task KernelSource_LoopDeviceUevent_ReceivesSynthProperties()
    {
        await using NetlinkUeventSource source = Open(SourceKind.Kernel);
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        string token = Guid.NewGuid().ToString("N");
        var uuid = Guid.NewGuid();

        loop.TriggerUevent("change", uuid, ("RUNID", token));

        Uevent e = await ReadTokenAsync(source, "SYNTH_ARG_RUNID", token);
        Assert.Equal(UeventSource.Kernel, e.Source);
        Assert.Equal(UeventAction.Change, e.Action);
        Assert.Equal("block", e.Subsystem);
        Assert.Equal(loop.Name, e.KernelName);
        Assert.Equal(uuid.ToString(), e.GetString(UeventKeys.SynthUuid));
        Assert.NotEqual(0UL, e.SeqNum);
        Assert.Equal(0, source.Counters.Untrusted);
    }

    [Fact]
    public async Task KernelSource_InPrivateNamespace_StillReceivesKernelUevents()
    {
        // Namespaces owned by the initial user namespace get the kernel's untagged uevents too,
        // which is what lets the daemon's tests run in a private namespace.
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Kernel));
        await using LoopDevice loop = await LoopDevice.CreateAsync();
        string token = Guid.NewGuid().ToString("N");

        loop.TriggerUevent("add", Guid.NewGuid(), ("RUNID", token));

        Uevent e = await ReadTokenAsync(source, "SYNTH_ARG_RUNID", token);
        Assert.Equal(UeventAction.Add, e.Action);
        Assert.EndsWith("/" + loop.Name, e.DevPath);
    }

    [Fact]
    public async Task KernelSource_UserspaceSenderOnKernelGroup_DroppedAsSpoofed()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Kernel));
        using var injector = new UeventInjector(netns);
        string token = Guid.NewGuid().ToString("N");

        injector.Send(KernelMessageWriter.Write([new("ACTION", "add"), new("DEVPATH", "/devices/fake"), new("SUBSYSTEM", "block"), new("T", token)]), NetlinkGroup.Kernel);
        await WaitForCountAsync(() => source.Counters.Rejected[RejectReason.Spoofed], 1);

        Assert.Equal(1, source.Counters.Received);
        Assert.Equal(0, source.Counters.Accepted);
        Assert.False(source.Events.TryRead(out _));
    }

    [Fact]
    public async Task UdevSource_RootSenderInPrivateNamespace_ReceivesPropertiesInOrder()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Udev));
        using var injector = new UeventInjector(netns);
        string token = Guid.NewGuid().ToString("N");

        injector.SendUdev("ACTION=add", "DEVPATH=/devices/pci0000:00/usb2/2-1", "SUBSYSTEM=usb", "DEVTYPE=usb_device",
            "ID_VENDOR_ID=058f", "ID_MODEL_ID=6387", "ID_SERIAL_SHORT=576B63C4", "SEQNUM=17", "KUA_TOKEN=" + token);

        Uevent e = await ReadTokenAsync(source, "KUA_TOKEN", token, describe: true);
        Assert.Equal(UeventSource.Udev, e.Source);
        Assert.Equal("usb_device", e.DevType);
        Assert.Equal("576B63C4", e.GetString(UeventKeys.IdSerialShort));
        Assert.Equal(17UL, e.SeqNum);
        Assert.Equal(9, e.PropertyCount);
        e.GetProperty(4, out var key, out var value);
        Assert.Equal("ID_VENDOR_ID=058f", System.Text.Encoding.UTF8.GetString(key) + "=" + System.Text.Encoding.UTF8.GetString(value));
    }

    [Fact]
    public async Task UdevSource_NonRootSender_DroppedAndCounted_NextRootMessageArrives()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Udev));
        using var injector = new UeventInjector(netns);
        string token = Guid.NewGuid().ToString("N");

        injector.SendAsUid(65534, UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/evil", "SUBSYSTEM=usb", "KUA_TOKEN=evil"));
        injector.SendUdev("ACTION=add", "DEVPATH=/devices/good", "SUBSYSTEM=usb", "KUA_TOKEN=" + token);

        Uevent e = await ReadTokenAsync(source, "KUA_TOKEN", token, describe: true);
        Assert.Equal("/devices/good", e.DevPath);
        Assert.Equal(1, source.Counters.Rejected[RejectReason.UntrustedSender]);
        Assert.Equal(2, source.Counters.Received);
        Assert.Equal(1, source.Counters.Accepted);
    }

    [Fact]
    public async Task UdevSource_KernelFormatAndGarbage_DroppedWithReason_LoopKeepsRunning()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Udev));
        using var injector = new UeventInjector(netns);
        string token = Guid.NewGuid().ToString("N");

        injector.Send(KernelMessageWriter.Write([new("ACTION", "add"), new("DEVPATH", "/devices/x"), new("SUBSYSTEM", "usb")]));
        injector.Send([1, 2, 3]);
        byte[] badMagic = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb");
        badMagic[8] ^= 0xff;
        injector.Send(badMagic);
        injector.SendUdev("ACTION=add", "DEVPATH=/devices/good", "SUBSYSTEM=usb", "KUA_TOKEN=" + token);

        await ReadTokenAsync(source, "KUA_TOKEN", token);
        Assert.Equal(1, source.Counters.Rejected[RejectReason.UnexpectedFormat]);
        Assert.Equal(1, source.Counters.Rejected[RejectReason.TooShort]);
        Assert.Equal(1, source.Counters.Rejected[RejectReason.BadMagic]);
        Assert.Equal(3, source.Counters.Malformed);
    }

    [Fact]
    public async Task UdevSource_DatagramLargerThanReceiveBuffer_RejectsWithTruncated()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Udev, 4 * 1024 * 1024));
        using var injector = new UeventInjector(netns);
        string token = Guid.NewGuid().ToString("N");

        injector.SendUdev("ACTION=add", "DEVPATH=/devices/huge", "SUBSYSTEM=usb", "BIG=" + new string('x', NetlinkUeventSource.MaxDatagramBytes));
        injector.SendUdev("ACTION=add", "DEVPATH=/devices/good", "SUBSYSTEM=usb", "KUA_TOKEN=" + token);

        await ReadTokenAsync(source, "KUA_TOKEN", token, describe: true);
        Assert.Equal(1, source.Counters.Rejected[RejectReason.Truncated]);
    }

    [Fact]
    public async Task UdevSource_FloodOverSmallBuffer_SignalsOverflow_AndReceivesNextMessage()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        // Capacity 1 and nobody reading: the ring is full after one event. The loop does not wait for
        // the reader; it drops what does not fit (or the 4 KiB socket buffer overruns first).
        await using var source = (NetlinkUeventSource)netns.Run(() => UeventSources.Open(SourceKind.Udev,
            new UeventSourceOptions { ReceiveBufferBytes = 4096, Capacity = 1 }, NullLogger.Instance));
        using var injector = new UeventInjector(netns);
        byte[] message = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/flood", "SUBSYSTEM=usb", "DEVTYPE=usb_device", "ID_SERIAL_SHORT=0123456789");
        for (int i = 0; i < 200; i++)
        {
            injector.Send(message);
        }

        // The loss is signalled once the socket is empty, whether the ring or the socket lost them.
        string token = Guid.NewGuid().ToString("N");
        Task<Uevent> next = ReadTokenAsync(source, "KUA_TOKEN", token, describe: true);
        UeventOverflow overflow = await source.Overflows.ReadAsync().AsTask().WaitAsync(s_timeout);
        Assert.Contains(overflow.Kind, (UeventOverflowKind[])[UeventOverflowKind.RingOverflow, UeventOverflowKind.ReceiveBufferOverrun]);
        Assert.Equal(UeventSource.Udev, overflow.Source);
        Assert.True(source.Counters.Overruns + source.Counters.RingOverflows > 0);
        Assert.True(overflow.AcceptedBefore >= 1);

        // The source keeps running and gets the next message. After an overrun the kernel drops every
        // message for this socket until its queue has been drained once (NETLINK_S_CONGESTED), which we
        // cannot observe from here: repeat the probe until one gets through.
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!next.IsCompleted)
        {
            injector.SendUdev("ACTION=add", "DEVPATH=/devices/after", "SUBSYSTEM=usb", "KUA_TOKEN=" + token);
            await Task.WhenAny(next, timer.WaitForNextTickAsync().AsTask());
        }

        Assert.Equal("/devices/after", (await next).DevPath);
        Assert.True(source.Counters.Accepted < 201);
    }

    [Fact]
    public async Task DisposeAsync_Twice_CompletesEventsAndIsIdempotent()
    {
        NetlinkUeventSource source = Open(SourceKind.Kernel);
        await source.DisposeAsync();
        await source.DisposeAsync();
        await source.Events.Completion.WaitAsync(s_timeout);
    }

    [Fact]
    public void Resolve_Auto_UdevOnlyWhenControlSocketExists()
    {
        string missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"));
        Assert.Equal(SourceKind.Kernel, UeventSources.Resolve(SourceKind.Auto, new UeventSourceOptions { UdevControlPath = missing }));
        string present = Path.GetTempFileName();
        try
        {
            Assert.Equal(SourceKind.Udev, UeventSources.Resolve(SourceKind.Auto, new UeventSourceOptions { UdevControlPath = present }));
            Assert.Equal(SourceKind.Kernel, UeventSources.Resolve(SourceKind.Kernel, new UeventSourceOptions { UdevControlPath = present }));
        }
        finally
        {
            File.Delete(present);
        }
    }

    /// <summary>Counters change on the receive loop's thread; wait for one without sleeping blindly.</summary>
    private static async Task WaitForCountAsync(Func<long> counter, long expected)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (counter() < expected)
        {
            await timer.WaitForNextTickAsync(cts.Token);
        }
    }
}
