using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Libvirt.Native;

/// <summary>A <c>virDomainPtr</c>, released with <c>virDomainFree</c>.</summary>
internal sealed class DomainHandle : SafeHandle
{
    public DomainHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => LibvirtNative.virDomainFree(handle) >= 0;
}
