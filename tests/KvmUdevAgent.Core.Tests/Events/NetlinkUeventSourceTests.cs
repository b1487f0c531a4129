using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
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

        // The kernel also hands this namespace real uevents of other devices (loop devices of tests
        // running beside this one): those are accepted, but none of them carries the token.
        Assert.Equal(1, source.Counters.Rejected[RejectReason.Spoofed]);
        while (source.Events.TryRead(out Uevent? e))
        {
            Assert.Null(e.GetString("T"));
            Assert.NotEqual("/devices/fake", e.DevPath);
        }
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
    public async Task UdevSource_RingFullWithNobodyReading_DropsAndCountsTheRest_SignalsRingOverflowOnce()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        // A socket buffer far larger than the burst: only the ring (3 events) can be full.
        await using var source = (NetlinkUeventSource)netns.Run(() => UeventSources.Open(SourceKind.Udev,
            new UeventSourceOptions { ReceiveBufferBytes = 4 * 1024 * 1024, Capacity = 3 }, NullLogger.Instance));
        using var injector = new UeventInjector(netns);
        for (int i = 0; i < 8; i++)
        {
            injector.SendUdev("ACTION=add", "DEVPATH=/devices/full", "SUBSYSTEM=usb", "N=" + i.ToString(CultureInfo.InvariantCulture));
        }

        UeventOverflow overflow = await source.Overflows.ReadAsync().AsTask().WaitAsync(s_timeout);

        Assert.Equal(UeventOverflowKind.RingOverflow, overflow.Kind);
        Assert.Equal(3, overflow.AcceptedBefore);
        Assert.Equal((8L, 3L, 5L, 0L), (source.Counters.Received, source.Counters.Accepted, source.Counters.RingOverflows, source.Counters.Overruns));
        var numbers = new List<string?>();
        while (source.Events.TryRead(out Uevent? e))
        {
            numbers.Add(e.GetString("N"));
        }

        Assert.Equal(["0", "1", "2"], numbers);
    }

    [Fact]
    public async Task UdevSource_BacklogTakenAfterTheSocketWentQuiet_ItsPagesAreGivenBack()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using var source = (NetlinkUeventSource)netns.Run(() => UeventSources.Open(SourceKind.Udev,
            new UeventSourceOptions { ReceiveBufferBytes = 16 * 1024 * 1024, Capacity = 4096 }, NullLogger.Instance));
        var ring = (UeventRing)source.Events;
        using var injector = new UeventInjector(netns);
        string filler = new('x', 900);
        const int Count = 1000;
        for (int i = 0; i < Count; i++)
        {
            injector.SendUdev("ACTION=add", "DEVPATH=/devices/backlog", "SUBSYSTEM=usb", "N=" + i.ToString(CultureInfo.InvariantCulture), "FILLER=" + filler);
        }

        // Nobody reads until the loop has put the whole burst in the ring and gone back to the socket.
        await WaitForCountAsync(() => source.Counters.Accepted, Count);
        long backlog = UeventRingSlabTests.ResidentKiB(ring.Slab);
        for (int i = 0; i < Count; i++)
        {
            Assert.True(ring.TryRead(out Uevent? e));
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), e.GetString("N"));
        }

        // No datagram comes after the last one: the loop finds the ring empty on its own and gives the pages back.
        await WaitUntilAsync(() => UeventRingSlabTests.ResidentKiB(ring.Slab) <= UeventRingSlab.KeepBytes / 1024);
        Assert.True(backlog >= 900, $"the backlog had {backlog} KiB resident");
    }

    [Fact]
    public async Task DisposeAsync_Twice_CompletesEventsAndIsIdempotent()
    {
        NetlinkUeventSource source = Open(SourceKind.Kernel);
        await source.DisposeAsync();
        await source.DisposeAsync();

        // The channel completes once it is empty too: the kernel group may have handed the socket a
        // real uevent (another test's loop device) before the dispose, so it is read out first.
        using var timeout = new CancellationTokenSource(s_timeout);
        await foreach (Uevent _ in source.Events.ReadAllAsync(timeout.Token))
        {
        }

        await source.Events.Completion.WaitAsync(s_timeout);
    }

    [Fact]
    public async Task DisposeAsync_WhileReceiveThreadBlockedOnSocket_ReturnsAndEndsTheThread()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Udev));
        int tid = 0;
        try
        {
            // The loop's own thread, asleep in ppoll on the empty socket (nothing is sent in this namespace).
            await WaitUntilAsync(() => source.ReceiveThreadId != 0);
            tid = source.ReceiveThreadId;
            await WaitUntilAsync(() => CurrentSyscall(tid) == PpollSyscall);
        }
        finally
        {
            await source.DisposeAsync().AsTask().WaitAsync(s_timeout);
        }

        await source.Events.Completion.WaitAsync(s_timeout);
        // The kernel's list of the process's threads no longer has it.
        await WaitUntilAsync(() => !Directory.Exists($"/proc/self/task/{tid}"));
    }

    [Fact]
    public async Task UdevSource_BurstWhileReaderIsBusy_RingTakesEveryEvent_NoneLost()
    {
        const int Count = 5000;
        using NetnsThread netns = NetnsThread.CreatePrivate();
        // The reader may be resumed on the receive thread (the daemon's setting): it takes the first
        // event there and then waits on something else; the loop must go on filling the ring.
        await using var source = (NetlinkUeventSource)netns.Run(() => UeventSources.Open(SourceKind.Udev,
            new UeventSourceOptions { ReceiveBufferBytes = 16 * 1024 * 1024, Capacity = Count, ResumeIdleReaderInline = true }, NullLogger.Instance));
        using var injector = new UeventInjector(netns);
        var busy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstTaken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource(s_timeout);
        Task<List<int>> reader = ReadNumbersAsync(source.Events, Count, firstTaken, busy.Task, cts.Token);

        injector.SendUdev("ACTION=add", "DEVPATH=/devices/burst", "SUBSYSTEM=usb", "N=0");
        await firstTaken.Task.WaitAsync(s_timeout);
        for (int i = 1; i < Count; i++)
        {
            injector.SendUdev("ACTION=add", "DEVPATH=/devices/burst", "SUBSYSTEM=usb", "N=" + i.ToString(CultureInfo.InvariantCulture));
        }

        // Every other event is in the ring while the reader still waits.
        await WaitUntilAsync(() => source.Events.Count == Count - 1);
        busy.SetResult();
        List<int> numbers = await reader.WaitAsync(s_timeout);

        Assert.Equal(Enumerable.Range(0, Count), numbers);
        Assert.Equal(Count, source.Counters.Accepted);
        Assert.Equal(0, source.Counters.Overruns);
        Assert.Equal(0, source.Counters.RingOverflows);
        Assert.False(source.Overflows.TryRead(out _));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Events_ReaderWaitingOnEmptyRing_ResumesOnReceiveThreadOnlyWhenAllowed(bool resumeInline)
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using var source = (NetlinkUeventSource)netns.Run(() => UeventSources.Open(SourceKind.Udev,
            new UeventSourceOptions { ReceiveBufferBytes = 1024 * 1024, ResumeIdleReaderInline = resumeInline }, NullLogger.Instance));
        using var injector = new UeventInjector(netns);
        await WaitUntilAsync(() => source.ReceiveThreadId != 0 && CurrentSyscall(source.ReceiveThreadId) == PpollSyscall);
        using var cts = new CancellationTokenSource(s_timeout);
        Task<int> woken = ThreadWokenByNextEventAsync(source.Events, cts.Token);
        Assert.False(woken.IsCompleted);

        injector.SendUdev("ACTION=add", "DEVPATH=/devices/one", "SUBSYSTEM=usb");

        int tid = await woken.WaitAsync(s_timeout);
        Assert.Equal(resumeInline, tid == source.ReceiveThreadId);
        Assert.True(source.Events.TryRead(out Uevent? e));
        Assert.Equal("/devices/one", e.DevPath);
    }

    [Fact]
    public async Task UdevSource_SocketErrorWhileWaiting_CompletesEventsWithTheError()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using NetlinkUeventSource source = netns.Run(() => Open(SourceKind.Udev));
        using var injector = new UeventInjector(netns);
        await WaitUntilAsync(() => source.ReceiveThreadId != 0 && CurrentSyscall(source.ReceiveThreadId) == PpollSyscall);

        // Put /dev/null in the socket's descriptor: the sleeping ppoll still holds the socket and wakes
        // for the next datagram, and the loop's recvmsg then fails (ENOTSOCK), a real error from the kernel.
        using (Microsoft.Win32.SafeHandles.SafeFileHandle devNull = File.OpenHandle("/dev/null"))
        {
            Assert.True(Tmds.Linux.LibC.dup2((int)devNull.DangerousGetHandle(), source.SocketDescriptor) >= 0);
        }

        injector.SendUdev("ACTION=add", "DEVPATH=/devices/wake", "SUBSYSTEM=usb");

        IOException error = await Assert.ThrowsAsync<IOException>(() => source.Events.Completion.WaitAsync(s_timeout));
        Assert.Contains("recvmsg", error.Message);
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

    /// <summary>ppoll(2)'s number, as /proc/PID/task/TID/syscall shows it for a thread asleep in it.</summary>
    private static string PpollSyscall => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "73" : "271";

    /// <summary>The system call thread <paramref name="tid"/> of this process is in (the kernel's view), or "" when it has none.</summary>
    private static string CurrentSyscall(int tid)
    {
        try
        {
            return File.ReadAllText($"/proc/self/task/{tid}/syscall").Split(' ')[0].Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>The kernel's id of the thread that ran the reader's continuation when the next event arrived.</summary>
    private static async Task<int> ThreadWokenByNextEventAsync(ChannelReader<Uevent> events, CancellationToken cancellationToken)
    {
        await events.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        return CurrentThreadId();
    }

    private static int CurrentThreadId() =>
        int.Parse(Path.GetFileName(new DirectoryInfo("/proc/thread-self").LinkTarget!), CultureInfo.InvariantCulture);

    /// <summary>Reads <paramref name="count"/> events' N; after the first, waits for <paramref name="busy"/> as a busy pipeline would.</summary>
    private static async Task<List<int>> ReadNumbersAsync(ChannelReader<Uevent> events, int count, TaskCompletionSource firstTaken, Task busy, CancellationToken cancellationToken)
    {
        var numbers = new List<int>(count);
        await foreach (Uevent e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            numbers.Add(int.Parse(e.GetString("N")!, CultureInfo.InvariantCulture));
            if (numbers.Count == 1)
            {
                firstTaken.SetResult();
                await busy.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (numbers.Count == count)
            {
                break;
            }
        }

        return numbers;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(s_timeout);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (!condition())
        {
            await timer.WaitForNextTickAsync(cts.Token);
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
