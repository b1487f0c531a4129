using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Reliability;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Found while measuring issue 10: a resync after lost events rebuilt every present device from
/// sysfs alone, so a device routed by a property only its event carried (udev's, or a synthetic
/// uevent's <c>SYNTH_ARG_*</c>) stopped matching its rule and the reconcile that followed detached
/// it from its VM, although it was never unplugged. SEQNUM gaps happen without any loss on a host
/// whose containers create network namespaces, so this hit running VMs.
/// </summary>
public sealed class Issue10_ResyncKeepsEventPropertiesTests
{
    private const string TagRule = """
        rules:
          - name: tagged
            match: { subsystem: usb, devtype: usb_device, props: { KUA_TEST_TAG: "route-me" } }
            attach: { vm: winxp }
        """;

    [Fact]
    public async Task Issue10_OverflowThenResync_DeviceRoutedByAnEventOnlyProperty_StaysAttached()
    {
        await using DaemonEnvironment env = await DaemonEnvironment.CreateAsync();
        env.WriteRules("10-tagged.yaml", TagRule);
        env.WriteConfig(receiveBuffer: "4KiB");
        await env.StartDaemonAsync();
        await env.Daemon!.WaitForLogAsync("VM winxp reconciled", TimeSpan.FromSeconds(20));

        var tagged = FaultTests.AddStormDrive(env, 1);
        env.InjectUdev(env.Sysfs.PlugEvents(tagged, udev: true).Select(e => e.DevPath == tagged.UsbDevice.DevPath
            ? Uevent.Create(UeventSource.Udev, e.Properties.Append(new KeyValuePair<string, string>("KUA_TEST_TAG", "route-me")))
            : e));
        await FaultTests.ExpectExactlyAsync(env, [FaultTests.StormId(1)]);

        // Lost events: the daemon is frozen while a storm of plugs that match nothing arrives.
        var others = Enumerable.Range(2, 40).Select(n => FaultTests.AddStormDrive(env, n)).ToList();
        await env.Daemon.FreezeAsync();
        try
        {
            env.InjectUdev(others.SelectMany(d => env.Sysfs.PlugEvents(d, udev: true)));
        }
        finally
        {
            env.Daemon.Thaw();
        }

        await env.WaitForAuditAsync(m => m.MsgId == "source.overflow", 1, TimeSpan.FromSeconds(20));
        await env.Daemon.WaitForLogAsync("Resync:", TimeSpan.FromSeconds(20));
        await FaultTests.ExpectExactlyAsync(env, [FaultTests.StormId(1)]);
    }
}
