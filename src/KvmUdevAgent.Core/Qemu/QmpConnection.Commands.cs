using System.Text.Json;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>The typed commands over QMP.</summary>
internal sealed partial class QmpConnection
{
    public async Task<QemuVersion> QueryVersionAsync(CancellationToken cancellationToken)
    {
        JsonElement result = await ExecuteAsync(QmpCommands.QueryVersion, null, cancellationToken).ConfigureAwait(false);
        JsonElement qemu = result.GetProperty("qemu");
        string? package = result.TryGetProperty("package", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        return new QemuVersion(qemu.GetProperty("major").GetInt32(), qemu.GetProperty("minor").GetInt32(), qemu.GetProperty("micro").GetInt32(), package);
    }

    public async Task<IReadOnlyList<QomProperty>> QomListAsync(string path, CancellationToken cancellationToken)
    {
        JsonElement result = await ExecuteAsync(QmpCommands.QomList, w => w.WriteString("path", path), cancellationToken).ConfigureAwait(false);
        var list = new List<QomProperty>(result.GetArrayLength());
        foreach (JsonElement entry in result.EnumerateArray())
        {
            list.Add(new QomProperty(entry.GetProperty("name").GetString() ?? "", entry.GetProperty("type").GetString() ?? ""));
        }

        return list;
    }

    public async Task<string?> QomGetAsync(string path, string property, CancellationToken cancellationToken)
    {
        try
        {
            JsonElement result = await ExecuteAsync(QmpCommands.QomGet, w =>
            {
                w.WriteString("path", path);
                w.WriteString("property", property);
            }, cancellationToken).ConfigureAwait(false);
            return result.ValueKind == JsonValueKind.String ? result.GetString() : result.GetRawText();
        }
        catch (QmpException e) when (e.Class == QmpErrorClasses.DeviceNotFound)
        {
            return null;
        }
    }

    public Task DeviceAddAsync(QemuDeviceSpec device, CancellationToken cancellationToken) =>
        ExecuteAsync(QmpCommands.DeviceAdd, w => WriteDeviceAdd(w, device), cancellationToken);

    /// <summary>
    /// <c>blockdev-add</c> of a <c>host_device</c> node and <c>device_add</c> of <paramref name="device"/>
    /// on it, written back to back (one round trip instead of two). Both answers are returned, each to be
    /// awaited: when the first fails, QEMU still runs the second (which then fails unless a node of that
    /// name was there already).
    /// </summary>
    public async Task<(Task Node, Task Device)> BlockAddThenDeviceAddAsync(string nodeName, string devNode, bool readOnly, QemuDeviceSpec device, CancellationToken cancellationToken)
    {
        Task<JsonElement>[] answers = await SendInOrderAsync(
            [
                (QmpCommands.BlockdevAdd, w => WriteBlockdevAdd(w, nodeName, devNode, readOnly)),
                (QmpCommands.DeviceAdd, w => WriteDeviceAdd(w, device)),
            ], cancellationToken).ConfigureAwait(false);
        return (answers[0], answers[1]);
    }

    private static void WriteDeviceAdd(Utf8JsonWriter w, QemuDeviceSpec device)
    {
        w.WriteString("driver", device.Driver);
        w.WriteString("id", device.Id);
        foreach ((string name, QemuValue value) in device.Properties)
        {
            if (value.Flag is { } flag)
            {
                w.WriteBoolean(name, flag);
            }
            else if (value.IsNumber)
            {
                w.WriteNumber(name, value.Number);
            }
            else
            {
                w.WriteString(name, value.Text);
            }
        }
    }

    private static void WriteBlockdevAdd(Utf8JsonWriter w, string nodeName, string devNode, bool readOnly)
    {
        w.WriteString("driver", "host_device");
        w.WriteString("node-name", nodeName);
        w.WriteString("filename", devNode);
        w.WriteBoolean("read-only", readOnly);
    }

    public async Task<DeviceDelResult> DeviceDelAsync(string id, TimeSpan waitForRemoval, bool untilReleased, CancellationToken cancellationToken)
    {
        using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Registered before device_del: USB devices are deleted at once, and QEMU may send the
        // event before the command's reply.
        Task<QmpEvent> deleted = WaitForEvent(e => IsDeviceDeleted(e, id), stopWaiting.Token);
        try
        {
            await ExecuteAsync(QmpCommands.DeviceDel, w => w.WriteString("id", id), cancellationToken).ConfigureAwait(false);
        }
        catch (QmpException e) when (e.Class == QmpErrorClasses.DeviceNotFound)
        {
            await stopWaiting.CancelAsync().ConfigureAwait(false);
            return DeviceDelResult.NotFound;
        }

        try
        {
            if (!untilReleased && !deleted.IsCompleted
                && await QomGetAsync(QmpCommands.PeripheralPath + "/" + id, "type", cancellationToken).ConfigureAwait(false) is null)
            {
                return DeviceDelResult.Removed;
            }

            await deleted.WaitAsync(waitForRemoval, cancellationToken).ConfigureAwait(false);
            return DeviceDelResult.Removed;
        }
        catch (TimeoutException)
        {
            return DeviceDelResult.Pending;
        }
        finally
        {
            await stopWaiting.CancelAsync().ConfigureAwait(false);
        }
    }

    public async Task<bool> WhenDeviceDeletedAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await WaitForEvent(e => IsDeviceDeleted(e, id), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MonitorDisconnectedException)
        {
            return false;
        }
    }

    private static bool IsDeviceDeleted(QmpEvent e, string id) =>
        e.Name == QmpCommands.DeviceDeletedEvent && string.Equals(e.Device, id, StringComparison.Ordinal);

    public Task BlockAddAsync(string nodeName, string devNode, bool readOnly, CancellationToken cancellationToken) =>
        ExecuteAsync(QmpCommands.BlockdevAdd, w => WriteBlockdevAdd(w, nodeName, devNode, readOnly), cancellationToken);

    public async Task<bool> BlockDelAsync(string nodeName, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync(QmpCommands.BlockdevDel, w => w.WriteString("node-name", nodeName), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (QmpException e) when (e.Class == QmpErrorClasses.GenericError)
        {
            // blockdev-del of a missing node is a GenericError like any other failure ("in use"),
            // so ask QEMU whether the node exists rather than reading the message.
            IReadOnlyList<string> nodes = await ListBlockNodesAsync(cancellationToken).ConfigureAwait(false);
            if (!nodes.Contains(nodeName, StringComparer.Ordinal))
            {
                return false;
            }

            throw;
        }
    }

    public async Task<IReadOnlyList<string>> ListBlockNodesAsync(CancellationToken cancellationToken)
    {
        JsonElement result = await ExecuteAsync(QmpCommands.QueryNamedBlockNodes, w => w.WriteBoolean("flat", true), cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        foreach (JsonElement node in result.EnumerateArray())
        {
            if (node.TryGetProperty("node-name", out JsonElement name) && name.GetString() is { } text && !text.StartsWith('#'))
            {
                names.Add(text);
            }
        }

        return names;
    }
}
