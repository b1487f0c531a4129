using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>Block devices: backend + device on attach (one write over QMP), deferred backend cleanup on detach, PCI bus choice.</summary>
internal sealed partial class MonitorCommands
{
    private const string PcieRootPort = "pcie-root-port";

    public async Task<AttachResult> AttachBlockAsync(BlockAttachRequest request, CancellationToken cancellationToken)
    {
        // No existence check first: QEMU runs one command per monitor at a time, so each round trip
        // is plug latency. A device already there makes device_add fail, which AddDeviceAsync turns
        // into AlreadyPresent; a node already there makes blockdev-add fail, and is then reused.
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
            if (request.Removable)
            {
                properties.Add(new("removable", QemuValue.Of(true)));
            }
        }

        // The serial is device data: over QMP an escaped JSON value; over HMP only a strict one.
        if (GuestSerial.Choose(request.GuestSerial, request.Model, _connection.Protocol).Sent is { } serial)
        {
            properties.Add(new("serial", QemuValue.Of(serial)));
        }

        var spec = new QemuDeviceSpec(driver, request.Id, properties);
        if (_connection is QmpConnection qmp)
        {
            return await AttachBlockInOneWriteAsync(qmp, request, spec, cancellationToken).ConfigureAwait(false);
        }

        bool nodeExisted = false;
        long? fdset = null;
        try
        {
            fdset = await AddBackendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (QmpException)
        {
            // A node left by an earlier attempt (or by this device, attached already) has the same
            // id, hence the same device node: reuse it. Any other failure stands.
            IReadOnlyList<string> nodes = await _connection.ListBlockNodesAsync(cancellationToken).ConfigureAwait(false);
            if (!nodes.Contains(request.NodeName, StringComparer.Ordinal))
            {
                throw;
            }

            nodeExisted = true;
        }

        try
        {
            return await AddDeviceAsync(spec, cancellationToken).ConfigureAwait(false);
        }
        catch (MonitorException) when (!nodeExisted)
        {
            await TryBlockDelAsync(request.NodeName).ConfigureAwait(false);
            await TryRemoveFdsetAsync(fdset).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Over QMP, <c>blockdev-add</c> and <c>device_add</c> go in one write and both answers are read
    /// after: QEMU runs them in order, so the device finds its node, and the attach costs one round
    /// trip instead of two (issue 15). QEMU runs the second even when the first failed; what each
    /// answer says decides the outcome:
    /// node added, device added: attached. Node refused (a node of that name was left by an earlier
    /// attempt), device added on it: attached. Node added, device refused: the new node is removed and
    /// the device's error stands (unless the device turns out to be there: already attached). Both
    /// refused: already attached if QEMU lists the device; else the device's error if a node of that
    /// name is there (it is left alone, as before), the node's error if not.
    /// </summary>
    private async Task<AttachResult> AttachBlockInOneWriteAsync(QmpConnection qmp, BlockAttachRequest request, QemuDeviceSpec spec, CancellationToken cancellationToken)
    {
        (string path, long? fdset) = await PathForQemuAsync(request.NodeName, request.DevNode, request.ReadOnly, afterPermissionDenied: false, cancellationToken).ConfigureAwait(false);
        (QmpException? node, QmpException? device) = await SendNodeAndDeviceAsync(qmp, request, path, spec, cancellationToken).ConfigureAwait(false);
        if (node is not null && device is not null && fdset is null && PassFds == PassFdsMode.Auto && IsPermissionDenied(node))
        {
            // A QEMU that dropped its privileges in a way /proc did not show (or a node it may not
            // open for another reason): give it the descriptor, and send both again.
            (path, fdset) = await PathForQemuAsync(request.NodeName, request.DevNode, request.ReadOnly, afterPermissionDenied: true, cancellationToken).ConfigureAwait(false);
            (node, device) = await SendNodeAndDeviceAsync(qmp, request, path, spec, cancellationToken).ConfigureAwait(false);
        }

        if (node is not null)
        {
            // Nothing of ours took the descriptor.
            await TryRemoveFdsetAsync(fdset).ConfigureAwait(false);
        }

        if (device is null)
        {
            return AttachResult.Attached;
        }

        if (await ExistsAsync(spec.Id, cancellationToken).ConfigureAwait(false))
        {
            if (node is null)
            {
                await TryBlockDelAsync(request.NodeName).ConfigureAwait(false);
                await TryRemoveFdsetAsync(fdset).ConfigureAwait(false);
            }

            return AttachResult.AlreadyPresent;
        }

        if (node is null)
        {
            await TryBlockDelAsync(request.NodeName).ConfigureAwait(false);
            await TryRemoveFdsetAsync(fdset).ConfigureAwait(false);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(device);
        }

        IReadOnlyList<string> nodes = await _connection.ListBlockNodesAsync(cancellationToken).ConfigureAwait(false);
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(nodes.Contains(request.NodeName, StringComparer.Ordinal) ? device : node);
        return AttachResult.Unknown;
    }

    /// <summary>Both commands in one write; their QMP errors, or the first other failure (timeout, disconnect) thrown.</summary>
    private static async Task<(QmpException? Node, QmpException? Device)> SendNodeAndDeviceAsync(QmpConnection qmp, BlockAttachRequest request, string path, QemuDeviceSpec spec, CancellationToken cancellationToken)
    {
        (Task node, Task device) = await qmp.BlockAddThenDeviceAddAsync(request.NodeName, path, request.ReadOnly, spec, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(node, device).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return (QmpFailureOf(node), QmpFailureOf(device));
    }

    private static QmpException? QmpFailureOf(Task answer)
    {
        if (answer.IsCompletedSuccessfully)
        {
            return null;
        }

        if (answer.Exception?.InnerException is QmpException e)
        {
            return e;
        }

        answer.GetAwaiter().GetResult();
        return null;
    }

    /// <summary><c>blockdev-add</c> on the node, or on a descriptor the agent opened for a QEMU that may not (<c>pass_fds</c>); returns the fdset used.</summary>
    private async Task<long?> AddBackendAsync(BlockAttachRequest request, CancellationToken cancellationToken)
    {
        (string path, long? fdset) = await PathForQemuAsync(request.NodeName, request.DevNode, request.ReadOnly, afterPermissionDenied: false, cancellationToken).ConfigureAwait(false);
        try
        {
            await _connection.BlockAddAsync(request.NodeName, path, request.ReadOnly, cancellationToken).ConfigureAwait(false);
            return fdset;
        }
        catch (QmpException e) when (fdset is null && PassFds == PassFdsMode.Auto && IsPermissionDenied(e))
        {
            // A QEMU that dropped its privileges in a way /proc did not show (or a node it may not
            // open for another reason): give it the descriptor.
            (path, fdset) = await PathForQemuAsync(request.NodeName, request.DevNode, request.ReadOnly, afterPermissionDenied: true, cancellationToken).ConfigureAwait(false);
        }
        catch (QmpException) when (fdset is not null)
        {
            await TryRemoveFdsetAsync(fdset).ConfigureAwait(false);
            throw;
        }

        try
        {
            await _connection.BlockAddAsync(request.NodeName, path, request.ReadOnly, cancellationToken).ConfigureAwait(false);
            return fdset;
        }
        catch (QmpException)
        {
            await TryRemoveFdsetAsync(fdset).ConfigureAwait(false);
            throw;
        }
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
                await RemoveFdsetsAsync(node, CancellationToken.None).ConfigureAwait(false);
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
}
