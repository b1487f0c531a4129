using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Tests.Netns;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Tests.Regression;

/// <summary>
/// Issue 7 found that spoofed and malformed datagrams were dropped and counted but never reached the
/// audit trail: the design's "rate-limited audit warning" (<c>source.reject</c>) had nothing to read.
/// Sources now report drops on <see cref="IUeventSource.Rejects"/> (bounded, so a flood costs nothing).
/// </summary>
public sealed class Issue7_SourceRejectTests
{
    [Fact]
    public async Task Issue7_UdevSource_NonRootAndBadMagic_ReportedOnRejectsWithSender()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using IUeventSource source = netns.Run(() => UeventSources.Open(SourceKind.Udev, new UeventSourceOptions { ReceiveBufferBytes = 1024 * 1024 }, NullLogger.Instance));
        using var injector = new UeventInjector(netns);
        byte[] badMagic = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=usb");
        badMagic[8] ^= 0xff;

        injector.SendAsUid(65534, UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/evil", "SUBSYSTEM=usb"));
        injector.Send(badMagic);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        UeventReject first = await source.Rejects.ReadAsync(cts.Token);
        UeventReject second = await source.Rejects.ReadAsync(cts.Token);
        Assert.Equal((UeventSource.Udev, RejectReason.UntrustedSender, 65534u), (first.Source, first.Reason, first.Uid));
        Assert.Equal((RejectReason.BadMagic, 0u, badMagic.Length), (second.Reason, second.Uid, second.Length));
    }

    [Fact]
    public async Task Issue7_UdevSource_FloodNobodyReads_RejectsBoundedAndEventsStillFlow()
    {
        using NetnsThread netns = NetnsThread.CreatePrivate();
        await using IUeventSource source = netns.Run(() => UeventSources.Open(SourceKind.Udev, new UeventSourceOptions { ReceiveBufferBytes = 4 * 1024 * 1024 }, NullLogger.Instance));
        using var injector = new UeventInjector(netns);
        for (int i = 0; i < 1000; i++)
        {
            injector.Send([1, 2, 3]);
        }

        string token = Guid.NewGuid().ToString("N");
        injector.SendUdev("ACTION=add", "DEVPATH=/devices/good", "SUBSYSTEM=usb", "KUA_TOKEN=" + token);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Uevent e = await source.Events.ReadAsync(cts.Token);
        Assert.Equal(token, e.GetString("KUA_TOKEN"));
        Assert.Equal(1000, source.Counters.Malformed);
        int pending = 0;
        while (source.Rejects.TryRead(out _))
        {
            pending++;
        }

        Assert.InRange(pending, 1, 16);
    }
}
