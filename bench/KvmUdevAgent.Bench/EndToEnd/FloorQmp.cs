using System.Diagnostics;
using System.Text.Json;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// The latency floor (issue 15): a direct QMP client on a monitor of its own, sending exactly the
/// commands the agent sends for one read-only drive (<c>blockdev-add</c> of a <c>host_device</c> node and
/// <c>device_add usb-storage</c> on it, written back to back), with no uevent, rules or daemon in
/// between. What it takes is QEMU's own share of an attach on this machine at this moment.
/// </summary>
internal sealed class FloorQmp : IAsyncDisposable
{
    private readonly QmpConnection _qmp;

    private FloorQmp(QmpConnection qmp) => _qmp = qmp;

    /// <summary>The QEMU arguments that give it the floor's own QMP monitor on <paramref name="socket"/>.</summary>
    public static string[] Arguments(string socket) =>
        ["-chardev", "socket,id=kuafloor,path=" + socket + ",server=on,wait=off", "-mon", "chardev=kuafloor,mode=control"];

    public static async Task<FloorQmp> ConnectAsync(string socket)
    {
        if (!MonitorEndpoint.TryParse("unix:" + socket, out MonitorEndpoint endpoint, out string? reason))
        {
            throw new InvalidOperationException(reason);
        }

        IMonitorConnection connection = await MonitorConnector.ConnectAsync(endpoint, MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None);
        return new FloorQmp((QmpConnection)connection);
    }

    /// <summary>Sends both commands in one write; returns the Stopwatch timestamp at which both were answered.</summary>
    public async Task<long> AttachAsync(string id, string devNode)
    {
        string node = id + "-node";
        Task<JsonElement>[] answers = await _qmp.SendInOrderAsync(
            [
                (QmpCommands.BlockdevAdd, w =>
                {
                    w.WriteString("driver", "host_device");
                    w.WriteString("node-name", node);
                    w.WriteString("filename", devNode);
                    w.WriteBoolean("read-only", true);
                }),
                (QmpCommands.DeviceAdd, w =>
                {
                    w.WriteString("driver", "usb-storage");
                    w.WriteString("id", id);
                    w.WriteString("drive", node);
                }),
            ], CancellationToken.None);
        await answers[0];
        await answers[1];
        return Stopwatch.GetTimestamp();
    }

    /// <summary>device_del until QEMU has let the device go, then blockdev-del of its node.</summary>
    public async Task DetachAsync(string id)
    {
        await _qmp.DeviceDelAsync(id, TimeSpan.FromSeconds(5), untilReleased: true, CancellationToken.None);
        await _qmp.BlockDelAsync(id + "-node", CancellationToken.None);
    }

    public ValueTask DisposeAsync() => _qmp.DisposeAsync();
}
