using System.Collections.Concurrent;
using System.Globalization;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The agent's operations on one VM over one monitor connection (QMP or HMP). Every decision is
/// taken from QEMU's answer (QOM tree, block nodes), not from bookkeeping; the only state kept is
/// the set of unplugs still waiting for the guest on this connection. Safe for concurrent use.
/// </summary>
internal sealed partial class MonitorCommands : IVmMonitor
{
    private readonly IMonitorConnection _connection;

    // Unplugs QEMU accepted but the guest has not finished, on this connection (= this QEMU
    // process). A second device_del of such a device fails ("already in the process of unplug"),
    // so it is answered from here while QEMU still lists the device. Value: the cleanup that
    // runs when DEVICE_DELETED arrives.
    private readonly ConcurrentDictionary<string, Task> _unplugPending = new(StringComparer.Ordinal);

    public MonitorCommands(IMonitorConnection connection, TimeSpan? detachTimeout = null)
    {
        _connection = connection;
        DetachTimeout = detachTimeout ?? TimeSpan.FromSeconds(2);
    }

    /// <summary>How long a detach waits for QEMU to confirm the removal before reporting <see cref="DetachResult.Pending"/>.</summary>
    public TimeSpan DetachTimeout { get; }

    public IMonitorConnection Connection => _connection;

    public Task<QemuVersion> QueryVersionAsync(CancellationToken cancellationToken) => Task.FromResult(_connection.Version);

    public Task<AttachResult> AttachAsync(AttachRequest request, CancellationToken cancellationToken) => request switch
    {
        UsbHostDevice usb => AttachUsbHostAsync(usb, cancellationToken),
        BlockAttachRequest block => AttachBlockAsync(block, cancellationToken),
        _ => throw new ArgumentException("Unknown attach request type.", nameof(request)),
    };

    public async Task<AttachResult> AttachUsbHostAsync(UsbHostDevice device, CancellationToken cancellationToken)
    {
        // No existence check first: a present id makes device_add fail ("Duplicate device ID"),
        // which AddDeviceAsync turns into AlreadyPresent. QEMU runs one command per monitor at a
        // time, so the extra qom-get per attach cost a third of a 500-device storm (bench/README.md).
        var spec = new QemuDeviceSpec("usb-host", device.Id,
        [
            new("hostbus", QemuValue.Of(device.Bus)),
            new("hostport", QemuValue.Of(device.PortPath)),
            new("vendorid", QemuValue.Of(device.Vendor.Value)),
            new("productid", QemuValue.Of(device.Product.Value)),
        ]);
        long? fdset = null;
        if (device.DevNum is int devnum && PassFds != PassFdsMode.Never)
        {
            string node = string.Create(CultureInfo.InvariantCulture, $"/dev/bus/usb/{device.Bus:D3}/{devnum:D3}");
            (string path, fdset) = await PathForQemuAsync(device.Id, node, readOnly: false, afterPermissionDenied: false, cancellationToken).ConfigureAwait(false);
            if (fdset is not null)
            {
                spec = spec with { Properties = [.. spec.Properties, new("hostdevice", QemuValue.Of(path))] };
            }
        }
        else if (PassFds == PassFdsMode.Always)
        {
            throw new MonitorException("pass_fds: true, but the USB device number of " + device.Id + " is unknown, so /dev/bus/usb/BBB/DDD cannot be opened for QEMU.");
        }

        try
        {
            return await AddDeviceAsync(spec, cancellationToken).ConfigureAwait(false);
        }
        catch (MonitorException)
        {
            await TryRemoveFdsetAsync(fdset).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<DetachResult> DetachAsync(string id, CancellationToken cancellationToken)
    {
        if (!QemuDeviceId.IsAgentId(id))
        {
            throw new ArgumentException("Only devices the agent attached (kua-...) are detached.", nameof(id));
        }

        if (_unplugPending.ContainsKey(id))
        {
            if (await ExistsAsync(id, cancellationToken).ConfigureAwait(false))
            {
                return DetachResult.Pending;
            }

            _unplugPending.TryRemove(id, out _);
        }

        DeviceDelResult deleted = await _connection.DeviceDelAsync(id, DetachTimeout, untilReleased: QemuDeviceId.IsBlock(id), cancellationToken).ConfigureAwait(false);
        if (deleted == DeviceDelResult.Pending)
        {
            _unplugPending[id] = Task.CompletedTask;
        }

        if (!QemuDeviceId.IsBlock(id))
        {
            if (deleted != DeviceDelResult.Pending)
            {
                await RemoveFdsetsAsync(id, cancellationToken).ConfigureAwait(false);
            }

            return ToDetachResult(deleted);
        }

        string node = QemuDeviceId.NodeOf(id);
        if (deleted == DeviceDelResult.Pending)
        {
            if (_connection.Protocol == MonitorProtocol.Hmp)
            {
                // A drive made by drive_add lets go of the host device at once, even while the
                // guest still holds the device.
                await _connection.BlockDelAsync(node, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _unplugPending[id] = FinishDetachWhenDeletedAsync(id, node);
            }

            return DetachResult.Pending;
        }

        await _connection.BlockDelAsync(node, cancellationToken).ConfigureAwait(false);
        await RemoveFdsetsAsync(node, cancellationToken).ConfigureAwait(false);
        return ToDetachResult(deleted);
    }

    private static DetachResult ToDetachResult(DeviceDelResult result) => result switch
    {
        DeviceDelResult.Removed => DetachResult.Detached,
        DeviceDelResult.NotFound => DetachResult.AlreadyGone,
        DeviceDelResult.Pending => DetachResult.Pending,
        _ => DetachResult.Unknown,
    };

    public async Task<AgentDeviceList> ListAgentDevicesAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<QomProperty> children = await _connection.QomListAsync(QmpCommands.PeripheralPath, cancellationToken).ConfigureAwait(false);
        var devices = new List<AgentDevice>();
        foreach (QomProperty child in children)
        {
            if (child.ChildType is not { } driver || !QemuDeviceId.IsAgentId(child.Name))
            {
                continue;
            }

            string path = QmpCommands.PeripheralPath + "/" + child.Name;
            var device = new AgentDevice(child.Name, driver);
            if (driver == "usb-host")
            {
                device = device with
                {
                    HostBus = ParseInt(await _connection.QomGetAsync(path, "hostbus", cancellationToken).ConfigureAwait(false)),
                    HostPort = await _connection.QomGetAsync(path, "hostport", cancellationToken).ConfigureAwait(false),
                    VendorId = FormatUsbId(await _connection.QomGetAsync(path, "vendorid", cancellationToken).ConfigureAwait(false)),
                    ProductId = FormatUsbId(await _connection.QomGetAsync(path, "productid", cancellationToken).ConfigureAwait(false)),
                };
            }
            else
            {
                device = device with { Drive = await _connection.QomGetAsync(path, "drive", cancellationToken).ConfigureAwait(false) };
            }

            devices.Add(device);
        }

        IReadOnlyList<string> nodes = await _connection.ListBlockNodesAsync(cancellationToken).ConfigureAwait(false);
        return new AgentDeviceList(devices, [.. nodes.Where(n => n.StartsWith(QemuDeviceId.Prefix, StringComparison.Ordinal))]);
    }

    private async Task<bool> ExistsAsync(string id, CancellationToken cancellationToken) =>
        await _connection.QomGetAsync(QmpCommands.PeripheralPath + "/" + id, "type", cancellationToken).ConfigureAwait(false) is not null;

    private async Task<AttachResult> AddDeviceAsync(QemuDeviceSpec spec, CancellationToken cancellationToken)
    {
        QmpException failure;
        try
        {
            await _connection.DeviceAddAsync(spec, cancellationToken).ConfigureAwait(false);
            return AttachResult.Attached;
        }
        catch (QmpException e)
        {
            failure = e;
        }

        // Lost a race with another attach of the same device ("Duplicate device ID")?
        if (await ExistsAsync(spec.Id, cancellationToken).ConfigureAwait(false))
        {
            return AttachResult.AlreadyPresent;
        }

        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return AttachResult.Unknown;
    }

    private static int? ParseInt(string? text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : null;

    private static string? FormatUsbId(string? text) =>
        ParseInt(text) is int value and >= 0 and <= 0xffff ? value.ToString("x4", CultureInfo.InvariantCulture) : text;
}
