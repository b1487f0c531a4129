namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The two halves of a detach for a monitor that is not held between them (on-demand): the
/// <c>DEVICE_DELETED</c> event goes to whoever is connected when QEMU sends it, so the agent asks
/// <c>qom-list</c> again until the device has left, then drops its block node and fdsets.
/// </summary>
internal sealed partial class MonitorCommands
{
    /// <summary>Sends <c>device_del</c>; <see cref="DeviceDelResult.Removed"/> when the device left the QOM tree at once.</summary>
    public Task<DeviceDelResult> RequestUnplugAsync(string id, CancellationToken cancellationToken)
    {
        if (!QemuDeviceId.IsAgentId(id))
        {
            throw new ArgumentException("Only devices the agent attached (kua-...) are detached.", nameof(id));
        }

        return _connection.DeviceDelAsync(id, TimeSpan.Zero, untilReleased: false, cancellationToken);
    }

    /// <summary>
    /// One poll: false while <paramref name="id"/> is still in the QOM tree, or its block node is
    /// still in use (QEMU lets go ~50 ms after the device left); true once the node and fdsets are gone.
    /// </summary>
    public async Task<bool> TryFinishUnplugAsync(string id, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        if (!QemuDeviceId.IsBlock(id))
        {
            await RemoveFdsetsAsync(id, cancellationToken).ConfigureAwait(false);
            return true;
        }

        string node = QemuDeviceId.NodeOf(id);
        try
        {
            await _connection.BlockDelAsync(node, cancellationToken).ConfigureAwait(false);
        }
        catch (QmpException)
        {
            return false;
        }

        await RemoveFdsetsAsync(node, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
