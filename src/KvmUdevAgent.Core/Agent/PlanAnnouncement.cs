using System.Diagnostics;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// What the pipeline says about a routed plan (its log line and <c>event.routed</c> record), said
/// exactly once. A plan that starts at once (its device idle) is <see cref="Take">taken</see> by its
/// run, which says it once QEMU has answered the attach (so that neither the line nor the record, nor
/// the log and syslog wake-ups they cause, compete with QEMU while it works on the commands, issue 15)
/// and in any case before the plan's first record of its own, on failure and on shutdown too. A plan
/// handed on (queued behind the device's other work, coalesced or dropped) is said by the pipeline
/// at once. Either way the plan is announced before anything done for it is recorded; the record's
/// <c>latency_ms</c> still ends when the plan was made.
/// </summary>
internal sealed class PlanAnnouncement(EventPipeline pipeline, Uevent uevent, DeviceView device, Plan plan)
{
    private readonly long _routedTimestamp = Stopwatch.GetTimestamp();
    private readonly Lock _lock = new();
    private bool _said;
    private volatile bool _taken;

    /// <summary>True once the plan's run has started: it says the announcement itself.</summary>
    public bool Taken => _taken;

    /// <summary>The plan's run has started; from now on it says the announcement.</summary>
    public void Take() => _taken = true;

    /// <summary>
    /// Says it, unless it has been said already; a caller that comes while another says it waits,
    /// so that what either records next comes after it.
    /// </summary>
    public void Run()
    {
        lock (_lock)
        {
            if (_said)
            {
                return;
            }

            _said = true;
            pipeline.Announce(uevent, device, plan, _routedTimestamp);
        }
    }
}
