using KvmUdevAgent.Core.Libvirt.Native;

namespace KvmUdevAgent.Core.Libvirt;

internal sealed partial class LibvirtConnection
{
    /// <summary>Opens the connection and registers the close callback and the domain events, all posting to our channel.</summary>
    private unsafe Registration Open()
    {
        ConnectHandle handle = LibvirtNative.virConnectOpen(Uri);
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw LibvirtException.Last("cannot connect to libvirtd at " + Uri);
        }

        var registration = new Registration(handle);
        try
        {
            // Detects a libvirtd that hangs rather than exits; an exit closes the socket at once.
            _ = LibvirtNative.virConnectSetKeepAlive(handle, 5, 3);
            if (LibvirtNative.virConnectRegisterCloseCallback(handle, LibvirtEventLoop.CloseCallback, LibvirtEventLoop.Opaque(_events.Writer), LibvirtEventLoop.FreeOpaqueCallback) < 0)
            {
                throw LibvirtException.Last("virConnectRegisterCloseCallback");
            }

            registration.HasCloseCallback = true;
            registration.Register(LibvirtNative.EventIdLifecycle, LibvirtEventLoop.LifecycleCallback, _events.Writer);
            registration.Register(LibvirtNative.EventIdDeviceRemoved, LibvirtEventLoop.DeviceRemovedCallback, _events.Writer);
            registration.Register(LibvirtNative.EventIdDeviceRemovalFailed, LibvirtEventLoop.DeviceRemovalFailedCallback, _events.Writer);
            return registration;
        }
        catch
        {
            registration.Close();
            throw;
        }
    }

    /// <summary>An open connection and its callback registrations, undone in reverse by <see cref="Close"/>.</summary>
    private sealed unsafe class Registration(ConnectHandle handle)
    {
        private readonly List<int> _callbackIds = [];

        public ConnectHandle Handle { get; } = handle;

        public bool HasCloseCallback { get; set; }

        public void Register(int eventId, nint callback, System.Threading.Channels.ChannelWriter<LibvirtEvent> events)
        {
            int id = LibvirtNative.virConnectDomainEventRegisterAny(Handle, 0, eventId, callback, LibvirtEventLoop.Opaque(events), LibvirtEventLoop.FreeOpaqueCallback);
            if (id < 0)
            {
                throw LibvirtException.Last("virConnectDomainEventRegisterAny");
            }

            _callbackIds.Add(id);
        }

        /// <summary>
        /// Deregisters before closing, as libvirt's bindings do; on a dead connection the calls fail
        /// and libvirt frees the registrations itself when the last reference goes.
        /// </summary>
        public void Close()
        {
            foreach (int id in _callbackIds)
            {
                _ = LibvirtNative.virConnectDomainEventDeregisterAny(Handle, id);
            }

            if (HasCloseCallback)
            {
                _ = LibvirtNative.virConnectUnregisterCloseCallback(Handle, LibvirtEventLoop.CloseCallback);
            }

            Handle.Dispose();
        }
    }
}
