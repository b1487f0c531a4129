using System.Diagnostics;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Qemu;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// The harness's own QMP connection to a VM (QEMU's extra "ready" socket, never the daemon's):
/// what is in <c>/machine/peripheral</c> is QEMU's answer, not the agent's bookkeeping.
/// </summary>
internal sealed partial class HarnessQmp : IAsyncDisposable
{
    private readonly QmpConnection _qmp;

    private HarnessQmp(QmpConnection qmp) => _qmp = qmp;

    public QmpConnection Connection => _qmp;

    public static async Task<HarnessQmp> ConnectAsync(QemuProcess qemu)
    {
        if (!MonitorEndpoint.TryParse("unix:" + qemu.ReadySocket, out MonitorEndpoint endpoint, out string? reason))
        {
            throw new InvalidOperationException(reason);
        }

        IMonitorConnection connection = await MonitorConnector.ConnectAsync(endpoint, MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None);
        return new HarnessQmp((QmpConnection)connection);
    }

    /// <summary>Names in /machine/peripheral that start with <paramref name="prefix"/>.</summary>
    public async Task<List<string>> PeripheralsAsync(string prefix)
    {
        var names = new List<string>();
        foreach (QomProperty p in await _qmp.QomListAsync("/machine/peripheral", CancellationToken.None))
        {
            if (p.Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                names.Add(p.Name);
            }
        }

        return names;
    }

    /// <summary>
    /// Polls qom-list (one request in flight) until <paramref name="done"/> holds; returns the
    /// Stopwatch timestamp of the answer that first showed it, or null at the timeout. Between
    /// polls it sleeps <paramref name="pauseMicroseconds"/> (usleep: finer than a .NET timer), so the
    /// harness and QEMU's main loop do not take both of a 2-core machine's CPUs from the code measured.
    /// </summary>
    public async Task<long?> PollUntilAsync(string prefix, Func<List<string>, bool> done, TimeSpan timeout, uint pauseMicroseconds)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            List<string> names = await PeripheralsAsync(prefix);
            long now = Stopwatch.GetTimestamp();
            if (done(names))
            {
                return now;
            }

            if (now > deadline)
            {
                return null;
            }

            _ = usleep(pauseMicroseconds);
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "usleep")]
    private static partial int usleep(uint microseconds);

    /// <summary>As above, pausing <paramref name="interval"/> (a .NET timer, ≥ 1 ms) between polls.</summary>
    public async Task<long?> PollUntilAsync(string prefix, Func<List<string>, bool> done, TimeSpan timeout, TimeSpan? interval = null)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            List<string> names = await PeripheralsAsync(prefix);
            long now = Stopwatch.GetTimestamp();
            if (done(names))
            {
                return now;
            }

            if (now > deadline)
            {
                return null;
            }

            if (interval is { } pause)
            {
                await Task.Delay(pause);
            }
        }
    }

    /// <summary>Block nodes whose name starts with <paramref name="prefix"/>.</summary>
    public async Task<int> BlockNodeCountAsync(string prefix) =>
        (await _qmp.ListBlockNodesAsync(CancellationToken.None)).Count(n => n.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>device_del, then waits until QEMU has let the device (and its drive) go.</summary>
    public async Task DeviceDelAsync(string id) =>
        await _qmp.DeviceDelAsync(id, TimeSpan.FromSeconds(5), untilReleased: true, CancellationToken.None);

    public ValueTask DisposeAsync() => _qmp.DisposeAsync();
}
