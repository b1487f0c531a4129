using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Libvirt.Native;

/// <summary>A <c>char*</c> libvirt returns for the caller to <c>free()</c> (e.g. <c>virDomainGetXMLDesc</c>).</summary>
internal sealed class NativeString : SafeHandle
{
    public NativeString()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>The UTF-8 text; null for a null pointer.</summary>
    public string? Read() => IsInvalid ? null : Marshal.PtrToStringUTF8(handle);

    protected override bool ReleaseHandle()
    {
        LibvirtNative.Free(handle);
        return true;
    }
}
