using System.Runtime.InteropServices;
using System.Threading.Channels;
using KvmUdevAgent.Core.Libvirt.Native;

namespace KvmUdevAgent.Core.Libvirt;

/// <summary>
/// libvirt's default event loop, which delivers every event and keepalive of every connection in
/// the process: registered once, on first use, and run by one dedicated background thread for the
/// rest of the process (libvirt has no way to unregister it). The callbacks registered here copy
/// what they need and post it to the connection's channel: they never block, throw, or call into
/// libvirt beyond reading the domain's name.
/// </summary>
internal static unsafe class LibvirtEventLoop
{
    private static readonly Lock s_lock = new();
    private static Thread? s_thread;

    /// <summary>Loads libvirt and starts the loop thread; idempotent. Throws <see cref="LibvirtUnavailableException"/> when <c>libvirt.so.0</c> is missing.</summary>
    public static void EnsureStarted()
    {
        lock (s_lock)
        {
            if (s_thread is not null)
            {
                return;
            }

            if (!NativeLibrary.TryLoad(LibvirtNative.Library, out _))
            {
                throw new LibvirtUnavailableException(
                    $"{LibvirtNative.Library} cannot be loaded, and the configuration has libvirt domains; install the Debian package '{LibvirtNative.DebianPackage}' (apt-get install {LibvirtNative.DebianPackage})");
            }

            // Without a handler libvirt prints every error to stderr as well; ours are exceptions.
            LibvirtNative.virSetErrorFunc(0, &IgnoreError);
            if (LibvirtNative.virInitialize() < 0)
            {
                throw LibvirtException.Last("virInitialize");
            }

            if (LibvirtNative.virEventRegisterDefaultImpl() < 0)
            {
                throw LibvirtException.Last("virEventRegisterDefaultImpl");
            }

            s_thread = new Thread(Run) { IsBackground = true, Name = "libvirt-events" };
            s_thread.Start();
        }
    }

    private static void Run()
    {
        while (true)
        {
            if (LibvirtNative.virEventRunDefaultImpl() < 0)
            {
                // Only a failing poll() gets here; don't spin on it.
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>A GCHandle for <paramref name="events"/>, to pass as a registration's opaque; freed by <see cref="FreeOpaque"/>.</summary>
    public static nint Opaque(ChannelWriter<LibvirtEvent> events) => GCHandle.ToIntPtr(GCHandle.Alloc(events));

    public static delegate* unmanaged<nint, void> FreeOpaqueCallback => &FreeOpaque;

    public static delegate* unmanaged<nint, int, nint, void> CloseCallback => &OnClose;

    public static nint LifecycleCallback => (nint)(delegate* unmanaged<nint, nint, int, int, nint, int>)&OnLifecycle;

    public static nint DeviceRemovedCallback => (nint)(delegate* unmanaged<nint, nint, nint, nint, void>)&OnDeviceRemoved;

    public static nint DeviceRemovalFailedCallback => (nint)(delegate* unmanaged<nint, nint, nint, nint, void>)&OnDeviceRemovalFailed;

    [UnmanagedCallersOnly]
    private static void IgnoreError(nint userData, nint error)
    {
    }

    [UnmanagedCallersOnly]
    private static void FreeOpaque(nint opaque)
    {
        if (opaque != 0)
        {
            GCHandle.FromIntPtr(opaque).Free();
        }
    }

    [UnmanagedCallersOnly]
    private static void OnClose(nint connection, int reason, nint opaque) =>
        Post(opaque, new LibvirtEvent(LibvirtEventKind.Closed, null, reason, null));

    [UnmanagedCallersOnly]
    private static int OnLifecycle(nint connection, nint domain, int eventType, int detail, nint opaque)
    {
        Post(opaque, new LibvirtEvent(LibvirtEventKind.Lifecycle, DomainName(domain), eventType, null));
        return 0;
    }

    [UnmanagedCallersOnly]
    private static void OnDeviceRemoved(nint connection, nint domain, nint alias, nint opaque) =>
        Post(opaque, new LibvirtEvent(LibvirtEventKind.DeviceRemoved, DomainName(domain), 0, Marshal.PtrToStringUTF8(alias)));

    [UnmanagedCallersOnly]
    private static void OnDeviceRemovalFailed(nint connection, nint domain, nint alias, nint opaque) =>
        Post(opaque, new LibvirtEvent(LibvirtEventKind.DeviceRemovalFailed, DomainName(domain), 0, Marshal.PtrToStringUTF8(alias)));

    private static string? DomainName(nint domain) => domain == 0 ? null : Marshal.PtrToStringUTF8(LibvirtNative.virDomainGetName(domain));

    private static void Post(nint opaque, LibvirtEvent e)
    {
        // An exception must never cross back into libvirt's C frames.
        try
        {
            if (opaque != 0 && GCHandle.FromIntPtr(opaque).Target is ChannelWriter<LibvirtEvent> writer)
            {
                writer.TryWrite(e);
            }
        }
        catch (Exception)
        {
        }
    }
}
