using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Libvirt.Native;

/// <summary>A <c>virConnectPtr</c>, closed with <c>virConnectClose</c> once nothing uses it.</summary>
internal sealed class ConnectHandle : SafeHandle
{
    public ConnectHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => LibvirtNative.virConnectClose(handle) >= 0;
}
