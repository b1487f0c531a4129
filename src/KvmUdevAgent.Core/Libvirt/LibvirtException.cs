using System.Runtime.InteropServices;
using KvmUdevAgent.Core.Libvirt.Native;

namespace KvmUdevAgent.Core.Libvirt;

/// <summary>A failed libvirt call, carrying libvirt's own message and error code (<c>virErrorNumber</c>).</summary>
internal class LibvirtException : Vms.VmException
{
    /// <summary><c>VIR_ERR_NO_DOMAIN</c>.</summary>
    public const int NoDomain = 42;

    /// <summary><c>VIR_ERR_OPERATION_INVALID</c> (e.g. the domain is not running).</summary>
    public const int OperationInvalid = 55;

    public LibvirtException()
    {
    }

    public LibvirtException(string message)
        : base(message)
    {
    }

    public LibvirtException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public LibvirtException(string message, int code)
        : base(message)
    {
        Code = code;
    }

    /// <summary>libvirt's <c>virErrorNumber</c>; 0 when the failure did not come from libvirt.</summary>
    public int Code { get; }

    /// <summary>
    /// The calling thread's last libvirt error (libvirt keeps it per thread, so this must run on the
    /// thread that made the failing call), prefixed with what was being done.
    /// </summary>
    public static LibvirtException Last(string doing)
    {
        int code = LibvirtNative.virGetLastErrorCode();
        string? message = Marshal.PtrToStringUTF8(LibvirtNative.virGetLastErrorMessage());
        return new LibvirtException(doing + ": " + (string.IsNullOrEmpty(message) ? "unknown libvirt error" : message), code);
    }
}
