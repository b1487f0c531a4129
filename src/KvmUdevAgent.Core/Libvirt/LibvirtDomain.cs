using KvmUdevAgent.Core.Libvirt.Native;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Libvirt;

/// <summary>
/// A VM that libvirt manages, driven only through libvirt: device XML attached and detached with
/// <c>VIR_DOMAIN_AFFECT_LIVE</c> (the persistent definition is the admin's), the actual state read
/// from the live XML. Devices are recognised by their <c>ua-kua-</c> alias; nothing else is touched.
/// </summary>
internal sealed partial class LibvirtDomain(string name, string domain, LibvirtConnection connection) : IDisposable
{
    // One attach at a time per domain: two at once would pick the same free target name.
    private readonly SemaphoreSlim _attachGate = new(1, 1);

    /// <summary>The VM's name in the agent's config.</summary>
    public string Name { get; } = name;

    /// <summary>The libvirt domain name.</summary>
    public string Domain { get; } = domain;

    public LibvirtConnection Connection { get; } = connection;

    public async Task<AttachResult> AttachAsync(AttachRequest request, CancellationToken cancellationToken)
    {
        await _attachGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Connection.CallAsync(handle =>
            {
                using DomainHandle dom = Lookup(handle);
                RequireActive(dom);
                LiveDomain live = LibvirtLiveXml.Parse(LiveXml(dom));
                if (live.Devices.Any(d => d.Id == request.Id))
                {
                    return AttachResult.AlreadyPresent;
                }

                string xml = LibvirtDeviceXml.For(request, live, Domain);
                if (LibvirtNative.virDomainAttachDeviceFlags(dom, xml, LibvirtNative.DomainAffectLive) < 0)
                {
                    throw LibvirtException.Last($"libvirt refused to attach {request.Id} to domain '{Domain}'");
                }

                return AttachResult.Attached;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _attachGate.Release();
        }
    }

    /// <summary>
    /// Asks libvirt to unplug the device with <paramref name="id"/>'s alias and waits for its
    /// device-removed event (libvirt's detach returns once the request is sent). Only agent ids are accepted.
    /// </summary>
    public async Task<DetachResult> DetachAsync(string id, CancellationToken cancellationToken)
    {
        if (!QemuDeviceId.IsAgentId(id))
        {
            throw new ArgumentException("only agent devices (kua-…) can be detached", nameof(id));
        }

        string alias = LibvirtAlias.FromId(id);
        TaskCompletionSource<bool> removed = Connection.ExpectRemoval(Domain, alias, out bool underWay);
        bool pending = false;
        try
        {
            // An unplug already asked for and not finished (an earlier detach returned Pending, or one runs
            // now) is waited for, not asked for again: libvirt 9.0 takes QEMU's DeviceNotFound (the device
            // unplugged, DEVICE_DELETED not yet sent) as removed, runs blockdev-del too early, so that QEMU
            // keeps the drive open, and may then crash at the DEVICE_DELETED.
            bool requested = underWay || await Connection.CallAsync(handle =>
            {
                using DomainHandle dom = Lookup(handle);
                if (!IsActive(dom) || !HasDevice(dom, id))
                {
                    return false;
                }

                if (LibvirtNative.virDomainDetachDeviceAlias(dom, alias, LibvirtNative.DomainAffectLive) < 0)
                {
                    var error = LibvirtException.Last($"libvirt refused to detach {id} from domain '{Domain}'");
                    return HasDevice(dom, id) ? throw error : false;
                }

                return true;
            }, cancellationToken).ConfigureAwait(false);
            if (!requested)
            {
                return DetachResult.AlreadyGone;
            }

            try
            {
                bool ok = await removed.Task.WaitAsync(Connection.Options.DetachTimeout, cancellationToken).ConfigureAwait(false);
                return ok ? DetachResult.Detached : throw new LibvirtException($"libvirt reports that removing {id} from domain '{Domain}' failed");
            }
            catch (TimeoutException)
            {
                // The event may have been lost with a connection; the live XML decides.
                AgentDeviceList now = await ListAgentDevicesAsync(cancellationToken).ConfigureAwait(false);
                pending = now.Devices.Any(d => d.Id == id);
                return pending ? DetachResult.Pending : DetachResult.Detached;
            }
        }
        finally
        {
            if (!pending)
            {
                // A pending unplug stays expected until its event comes (or the connection goes).
                Connection.ForgetRemoval(Domain, alias, removed);
            }
        }
    }

    /// <summary>The agent's devices in the live XML; an empty list while the domain is not running.</summary>
    public Task<AgentDeviceList> ListAgentDevicesAsync(CancellationToken cancellationToken) =>
        Connection.CallAsync(handle =>
        {
            using DomainHandle dom = Lookup(handle);
            return IsActive(dom)
                ? new AgentDeviceList(LibvirtLiveXml.Parse(LiveXml(dom)).Devices, [])
                : new AgentDeviceList([], []);
        }, cancellationToken);

    public Task<DomainState> GetStateAsync(CancellationToken cancellationToken) =>
        Connection.CallAsync(handle =>
        {
            using DomainHandle dom = Lookup(handle);
            return State(dom);
        }, cancellationToken);

    private DomainHandle Lookup(ConnectHandle handle)
    {
        DomainHandle dom = LibvirtNative.virDomainLookupByName(handle, Domain);
        if (dom.IsInvalid)
        {
            dom.Dispose();
            LibvirtException error = LibvirtException.Last($"libvirt domain '{Domain}' at {Connection.Uri}");
            throw error.Code == LibvirtException.NoDomain
                ? new LibvirtException($"libvirtd at {Connection.Uri} has no domain named '{Domain}' (virsh -c '{Connection.Uri}' list --all shows the names)", error.Code)
                : error;
        }

        return dom;
    }

    private DomainState State(DomainHandle dom)
    {
        if (LibvirtNative.virDomainGetState(dom, out int state, out _, 0) < 0)
        {
            throw LibvirtException.Last($"state of libvirt domain '{Domain}'");
        }

        return Enum.IsDefined((DomainState)state) ? (DomainState)state : DomainState.Unknown;
    }

    private bool IsActive(DomainHandle dom) => State(dom) is DomainState.Running or DomainState.Paused or DomainState.Blocked;

    private void RequireActive(DomainHandle dom)
    {
        DomainState state = State(dom);
        if (state is not (DomainState.Running or DomainState.Paused or DomainState.Blocked))
        {
            throw new LibvirtDomainNotRunningException($"libvirt domain '{Domain}' is not running ({state.ToString().ToLowerInvariant()}); the device is attached when it starts");
        }
    }

    private bool HasDevice(DomainHandle dom, string id) => LibvirtLiveXml.Parse(LiveXml(dom)).Devices.Any(d => d.Id == id);

    private string LiveXml(DomainHandle dom)
    {
        using NativeString xml = LibvirtNative.virDomainGetXMLDesc(dom, 0);
        return xml.Read() ?? throw LibvirtException.Last($"live XML of libvirt domain '{Domain}'");
    }

    /// <summary>Releases the domain's own lock; the shared connection is disposed by its owner.</summary>
    public void Dispose() => _attachGate.Dispose();

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
