using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// What the pipeline says about a routed plan (its log line and <c>event.routed</c> record), said
/// exactly once by whoever comes first: the executor, right after the plan's first command went out
/// to the VM (so that neither the line nor the record is on the way to QEMU, issue 15) and in any
/// case before the plan's first record of its own; or the pipeline, once it has handed the plan on
/// (queued behind the device's other work, coalesced or dropped). Either way the plan is announced
/// before anything done for it is recorded.
/// </summary>
internal sealed class PlanAnnouncement(EventPipeline pipeline, Uevent uevent, DeviceView device, Plan plan)
{
    private int _said;

    /// <summary>Says it, unless it has been said already.</summary>
    public void Run()
    {
        if (Interlocked.Exchange(ref _said, 1) == 0)
        {
            pipeline.Announce(uevent, device, plan);
        }
    }
}
