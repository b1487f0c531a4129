using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Libvirt.Native;

/// <summary>
/// The libvirt C API calls the agent uses (libvirt 9.0 on Debian 12; every one exists since 4.4).
/// Always the versioned soname: the unversioned <c>libvirt.so</c> exists only with libvirt-dev.
/// The library is resolved on the first call, so a configuration without libvirt domains never loads it.
/// </summary>
internal static unsafe partial class LibvirtNative
{
    public const string Library = "libvirt.so.0";

    /// <summary>The Debian package that ships <see cref="Library"/>.</summary>
    public const string DebianPackage = "libvirt0";

    // virDomainModificationImpact
    public const uint DomainAffectLive = 1;

    // virConnectDomainEventID
    public const int EventIdLifecycle = 0;
    public const int EventIdDeviceRemoved = 15;
    public const int EventIdDeviceRemovalFailed = 22;

    [LibraryImport(Library)]
    public static partial int virInitialize();

    [LibraryImport(Library)]
    public static partial int virEventRegisterDefaultImpl();

    [LibraryImport(Library)]
    public static partial int virEventRunDefaultImpl();

    [LibraryImport(Library)]
    public static partial int virEventAddTimeout(int frequencyMs, delegate* unmanaged<int, nint, void> callback, nint opaque, nint freeCallback);

    [LibraryImport(Library)]
    public static partial int virEventRemoveTimeout(int timer);

    [LibraryImport(Library)]
    public static partial void virSetErrorFunc(nint userData, delegate* unmanaged<nint, nint, void> handler);

    [LibraryImport(Library)]
    public static partial nint virGetLastErrorMessage();

    [LibraryImport(Library)]
    public static partial int virGetLastErrorCode();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial ConnectHandle virConnectOpen(string uri);

    [LibraryImport(Library)]
    public static partial int virConnectClose(nint connection);

    [LibraryImport(Library)]
    public static partial int virConnectSetKeepAlive(ConnectHandle connection, int intervalSeconds, uint count);

    [LibraryImport(Library)]
    public static partial int virConnectRegisterCloseCallback(ConnectHandle connection, delegate* unmanaged<nint, int, nint, void> callback, nint opaque, delegate* unmanaged<nint, void> freeOpaque);

    [LibraryImport(Library)]
    public static partial int virConnectUnregisterCloseCallback(ConnectHandle connection, delegate* unmanaged<nint, int, nint, void> callback);

    [LibraryImport(Library)]
    public static partial int virConnectDomainEventRegisterAny(ConnectHandle connection, nint domain, int eventId, nint callback, nint opaque, delegate* unmanaged<nint, void> freeOpaque);

    [LibraryImport(Library)]
    public static partial int virConnectDomainEventDeregisterAny(ConnectHandle connection, int callbackId);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial DomainHandle virDomainLookupByName(ConnectHandle connection, string name);

    [LibraryImport(Library)]
    public static partial int virDomainFree(nint domain);

    /// <summary>The domain's name, owned by the domain object (not to be freed); a field read, no RPC.</summary>
    [LibraryImport(Library)]
    public static partial nint virDomainGetName(nint domain);

    [LibraryImport(Library)]
    public static partial int virDomainGetState(DomainHandle domain, out int state, out int reason, uint flags);

    [LibraryImport(Library)]
    public static partial NativeString virDomainGetXMLDesc(DomainHandle domain, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainAttachDeviceFlags(DomainHandle domain, string xml, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainDetachDeviceAlias(DomainHandle domain, string alias, uint flags);

    /// <summary>libc's <c>free</c>, for strings libvirt hands over to the caller.</summary>
    [LibraryImport("libc.so.6", EntryPoint = "free")]
    public static partial void Free(nint pointer);
}
