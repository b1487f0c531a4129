using System.Text.Json;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>The typed commands over HMP; every line is built by <see cref="HmpLine"/> from validated parts.</summary>
internal sealed partial class HmpConnection
{
    private static readonly TimeSpan s_removalPoll = TimeSpan.FromMilliseconds(20);

    public async Task<IReadOnlyList<QomProperty>> QomListAsync(string path, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines = await ExecuteAsync(new HmpLine(QmpCommands.QomList).Word(path), cancellationToken).ConfigureAwait(false);
        var list = new List<QomProperty>(lines.Count);
        foreach (string line in lines)
        {
            // "name (type)"; QOM names have no spaces.
            int space = line.IndexOf(" (", StringComparison.Ordinal);
            if (line.StartsWith("Error: ", StringComparison.Ordinal) || space <= 0 || !line.EndsWith(')'))
            {
                throw ToError(lines, QmpCommands.QomList, null);
            }

            list.Add(new QomProperty(line[..space], line[(space + 2)..^1]));
        }

        return list;
    }

    public async Task<string?> QomGetAsync(string path, string property, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines = await ExecuteAsync(new HmpLine(QmpCommands.QomGet).Word(path).Word(property), cancellationToken).ConfigureAwait(false);
        if (lines.Count == 1 && !lines[0].StartsWith("Error: ", StringComparison.Ordinal))
        {
            // HMP prints the value as JSON.
            try
            {
                using JsonDocument value = JsonDocument.Parse(lines[0]);
                return value.RootElement.ValueKind == JsonValueKind.String ? value.RootElement.GetString() : value.RootElement.GetRawText();
            }
            catch (JsonException)
            {
                return lines[0];
            }
        }

        QmpException error = ToError(lines, QmpCommands.QomGet, path);
        if (error.Class == QmpErrorClasses.DeviceNotFound)
        {
            return null;
        }

        throw error;
    }

    public async Task DeviceAddAsync(QemuDeviceSpec device, CancellationToken cancellationToken)
    {
        HmpLine line = new HmpLine(QmpCommands.DeviceAdd).OptionWord(device.Driver).Option("id", QemuValue.Of(device.Id));
        foreach ((string name, QemuValue value) in device.Properties)
        {
            line.Option(name, value);
        }

        ThrowIfAnyOutput(await ExecuteAsync(line, cancellationToken).ConfigureAwait(false), QmpCommands.DeviceAdd, null);
    }

    public async Task<DeviceDelResult> DeviceDelAsync(string id, TimeSpan waitForRemoval, bool untilReleased, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines = await ExecuteAsync(new HmpLine(QmpCommands.DeviceDel).Word(id), cancellationToken).ConfigureAwait(false);
        if (lines.Count > 0)
        {
            QmpException error = ToError(lines, QmpCommands.DeviceDel, id);
            if (error.Class == QmpErrorClasses.DeviceNotFound)
            {
                return DeviceDelResult.NotFound;
            }

            throw error;
        }

        // HMP does not print events, so the only way to learn that the unplug finished is to look
        // at the QOM tree until the device has left it or the timeout is over. That is enough even
        // with untilReleased: the agent's HMP drives come from drive_add, and drive_del lets go at once.
        string path = QmpCommands.PeripheralPath + "/" + id;
        DateTime deadline = DateTime.UtcNow + waitForRemoval;
        while (true)
        {
            if (await QomGetAsync(path, "type", cancellationToken).ConfigureAwait(false) is null)
            {
                return DeviceDelResult.Removed;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return DeviceDelResult.Pending;
            }

            await Task.Delay(s_removalPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>HMP cannot report the deletion; the backend was already let go by <c>drive_del</c>.</summary>
    public Task<bool> WhenDeviceDeletedAsync(string id, CancellationToken cancellationToken) => Task.FromResult(false);

    public async Task BlockAddAsync(string nodeName, string devNode, bool readOnly, CancellationToken cancellationToken)
    {
        // drive_add wants a PCI address even with if=none, where it is ignored.
        HmpLine line = new HmpLine(QmpCommands.HmpDriveAdd).Word(0)
            .Option("if", QemuValue.Of("none"))
            .Option("id", QemuValue.Of(nodeName))
            .Option("file", QemuValue.Of(devNode))
            .Option("format", QemuValue.Of("raw"));
        if (readOnly)
        {
            line.Option("readonly", QemuValue.Of("on"));
        }

        IReadOnlyList<string> lines = await ExecuteAsync(line, cancellationToken).ConfigureAwait(false);
        if (lines.Count(l => !l.StartsWith("warning: ", StringComparison.Ordinal)) != 1 || lines[^1] != "OK")
        {
            throw ToError(lines.Count == 0 ? ["drive_add printed nothing"] : lines, QmpCommands.HmpDriveAdd, null);
        }
    }

    public async Task<bool> BlockDelAsync(string nodeName, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines = await ExecuteAsync(new HmpLine(QmpCommands.HmpDriveDel).Word(nodeName), cancellationToken).ConfigureAwait(false);
        if (lines.Count == 0)
        {
            return true;
        }

        QmpException error = ToError(lines, QmpCommands.HmpDriveDel, nodeName);
        if (error.Class == QmpErrorClasses.DeviceNotFound)
        {
            return false;
        }

        throw error;
    }

    public async Task<IReadOnlyList<string>> ListBlockNodesAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines = await ExecuteAsync(new HmpLine(QmpCommands.HmpInfo).Word("block"), cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        foreach (string line in lines)
        {
            // "kua-b0123456789ab-n (#block159): /dev/loop0 (raw, read-only)"
            int end = line.IndexOf(" (#block", StringComparison.Ordinal);
            if (end > 0 && char.IsAsciiLetter(line[0]))
            {
                names.Add(line[..end]);
            }
        }

        return names;
    }
}
