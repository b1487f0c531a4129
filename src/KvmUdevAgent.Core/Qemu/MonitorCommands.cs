using System.Collections.Concurrent;
using System.Globalization;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The agent's operations on one VM over one monitor connection (QMP or HMP). Stateless apart
/// from the connection: every decision is taken from QEMU's answer (QOM tree, block nodes), not
/// from bookkeeping.
/// </summary>
internal sealed class MonitorCommands : IVmMonitor
{
    private const string PcieRootPort = "pcie-root-port";

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
        if (await ExistsAsync(device.Id, cancellationToken).ConfigureAwait(false))
        {
            return AttachResult.AlreadyPresent;
        }

        var spec = new QemuDeviceSpec("usb-host", device.Id,
        [
            new("hostbus", QemuValue.Of(device.Bus)),
            new("hostport", QemuValue.Of(device.PortPath)),
            new("vendorid", QemuValue.Of(device.Vendor.Value)),
            new("productid", QemuValue.Of(device.Product.Value)),
        ]);
        return await AddDeviceAsync(spec, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AttachResult> AttachBlockAsync(BlockAttachRequest request, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(request.Id, cancellationToken).ConfigureAwait(false))
        {
            return AttachResult.AlreadyPresent;
        }

        var properties = new List<KeyValuePair<string, QemuValue>> { new("drive", QemuValue.Of(request.NodeName)) };
        string driver;
        if (request.Model == BlockDeviceModel.VirtioBlk)
        {
            driver = "virtio-blk-pci";
            string? bus = request.PciBus ?? await FindPciBusAsync(cancellationToken).ConfigureAwait(false);
            if (bus is not null)
            {
                properties.Add(new("bus", QemuValue.Of(bus)));
            }
        }
        else
        {
            driver = "usb-storage";
        }

        // The serial is device data: over QMP it is an escaped JSON value; HMP could only take it
        // raw, so there the guest does without it.
        if (request.GuestSerial is { Length: > 0 } serial && _connection.Protocol == MonitorProtocol.Qmp)
        {
            properties.Add(new("serial", QemuValue.Of(serial)));
        }

        IReadOnlyList<string> nodes = await _connection.ListBlockNodesAsync(cancellationToken).ConfigureAwait(false);
        bool nodeExisted = nodes.Contains(request.NodeName, StringComparer.Ordinal);
        if (!nodeExisted)
        {
            // A node left by an earlier attempt has the same id, hence the same device node: reuse it.
            await _connection.BlockAddAsync(request.NodeName, request.DevNode, request.ReadOnly, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await AddDeviceAsync(new QemuDeviceSpec(driver, request.Id, properties), cancellationToken).ConfigureAwait(false);
        }
        catch (MonitorException) when (!nodeExisted)
        {
            await TryBlockDelAsync(request.NodeName).ConfigureAwait(false);
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
        return ToDetachResult(deleted);
    }

    private async Task FinishDetachWhenDeletedAsync(string id, string node)
    {
        // Runs as long as the connection lives; a reconnect finds a new QEMU (no node) or the
        // reconcile removes the leftover node. The wait is registered before the first await.
        try
        {
            if (await _connection.WhenDeviceDeletedAsync(id, CancellationToken.None).ConfigureAwait(false))
            {
                await TryBlockDelAsync(node).ConfigureAwait(false);
            }
        }
        catch (MonitorException)
        {
        }
    }

    /// <summary>
    /// Completes when a detach that returned <see cref="DetachResult.Pending"/> has finished its
    /// cleanup (QEMU reported the deletion and the block node was removed) or the connection closed;
    /// at once for any other id.
    /// </summary>
    public Task WhenDetachFinishedAsync(string id) => _unplugPending.TryGetValue(id, out Task? cleanup) ? cleanup : Task.CompletedTask;

    private async Task TryBlockDelAsync(string node)
    {
        try
        {
            await _connection.BlockDelAsync(node, CancellationToken.None).ConfigureAwait(false);
        }
        catch (MonitorException)
        {
            // Best effort: the node stays listed and the next reconcile removes it.
        }
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

    /// <summary>
    /// Where a hot-plugged PCI device can go. On q35, <c>pcie.0</c> does not hotplug ("Bus 'pcie.0'
    /// does not support hotplugging"): a named <c>pcie-root-port</c> with nothing on its bus is
    /// needed. The <c>pc</c> machine hotplugs on <c>pci.0</c>, QEMU's default (null).
    /// </summary>
    private async Task<string?> FindPciBusAsync(CancellationToken cancellationToken)
    {
        string? machine = await _connection.QomGetAsync(QmpCommands.MachinePath, "type", cancellationToken).ConfigureAwait(false);
        if (machine is null || !machine.Contains("q35", StringComparison.Ordinal))
        {
            return null;
        }

        IReadOnlyList<QomProperty> children = await _connection.QomListAsync(QmpCommands.PeripheralPath, cancellationToken).ConfigureAwait(false);
        foreach (QomProperty child in children)
        {
            if (child.ChildType != PcieRootPort || !HmpLine.IsSafe(child.Name))
            {
                continue;
            }

            // A root port's bus is named after the port's id; a device on it shows as child[N].
            string busPath = QmpCommands.PeripheralPath + "/" + child.Name + "/" + child.Name;
            IReadOnlyList<QomProperty> onBus = await _connection.QomListAsync(busPath, cancellationToken).ConfigureAwait(false);
            if (!onBus.Any(p => p.Name.StartsWith("child[", StringComparison.Ordinal)))
            {
                return child.Name;
            }
        }

        throw new MonitorException(
            "The q35 VM has no free pcie-root-port for virtio-blk (pcie.0 does not hotplug): add '-device pcie-root-port,id=rpN,chassis=N' to its command line, or name a bus.");
    }

    private static int? ParseInt(string? text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : null;

    private static string? FormatUsbId(string? text) =>
        ParseInt(text) is int value and >= 0 and <= 0xffff ? value.ToString("x4", CultureInfo.InvariantCulture) : text;
}
