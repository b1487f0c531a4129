using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>Probing and detaching by polling: an on-demand monitor hears no events.</summary>
internal sealed partial class OnDemandMonitor
{
    private static readonly TimeSpan s_detachPoll = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Every <see cref="VmMonitorOptions.ProbeInterval"/>: one short session reads QEMU's pid (unix
    /// sockets) and its <c>kua-</c> devices. The first answer, a new pid, devices other than expected,
    /// or a failed action since the last probe call <paramref name="reconcile"/> (with true the first
    /// time QEMU answers after being unreachable). Runs until <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task RunProbesAsync(Func<bool, CancellationToken, Task> reconcile, CancellationToken cancellationToken)
    {
        await Task.Yield();
        bool reachable = false;
        int? pid = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            ProbeResult? probe = null;
            try
            {
                probe = await WithSessionAsync(ProbeAsync, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever went wrong, the probe goes on: it is how this VM's devices come back.
                if (reachable)
                {
                    Log.OnDemandMonitorLost(_logger, _name, _endpoint, e.Message);
                }
                else
                {
                    Log.OnDemandProbeFailed(_logger, _name, _endpoint, e.Message);
                }

                reachable = e is MonitorBusyException && reachable;
            }

            if (probe is not null)
            {
                string? why = !reachable ? "first answer"
                    : probe.Pid != pid ? "QEMU pid changed"
                    : _dirty ? "an action failed since the last probe"
                    : !SameAsExpected(probe.Ids) ? "QEMU holds other kua- devices than expected"
                    : null;
                bool first = !reachable;
                reachable = true;
                pid = probe.Pid;
                lock (_expectedLock)
                {
                    _expected = probe.Ids;
                }

                if (why is not null)
                {
                    _dirty = false;
                    Log.OnDemandReconcile(_logger, _name, why);
                    try
                    {
                        await reconcile(first, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }
                }
            }

            try
            {
                await Task.Delay(_options.ProbeInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool SameAsExpected(HashSet<string> ids)
    {
        lock (_expectedLock)
        {
            return _expected is { } expected && expected.SetEquals(ids);
        }
    }

    private static async Task<ProbeResult> ProbeAsync(MonitorCommands commands, CancellationToken cancellationToken)
    {
        IReadOnlyList<QomProperty> children = await commands.Connection.QomListAsync(QmpCommands.PeripheralPath, cancellationToken).ConfigureAwait(false);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (QomProperty child in children)
        {
            if (child.ChildType is not null && QemuDeviceId.IsAgentId(child.Name))
            {
                ids.Add(child.Name);
            }
        }

        return new ProbeResult(commands.Connection.PeerPid, ids);
    }

    /// <summary>
    /// <c>device_del</c> in one session; then, each in a session of its own, polling <c>qom-list</c>
    /// until the device has left and its block node can go (no <c>DEVICE_DELETED</c> reaches a client
    /// that is not connected). After <see cref="VmMonitorOptions.DetachTimeout"/> it reports
    /// <see cref="DetachResult.Pending"/> and the next probe finishes the cleanup.
    /// </summary>
    public Task<DetachResult> DetachAsync(string id, CancellationToken cancellationToken) => DetachPollingAsync(id, cancellationToken);

    private async Task<DetachResult> DetachPollingAsync(string id, CancellationToken cancellationToken)
    {
        Log.DetachPolling(_logger, _name, id, s_detachPoll);
        DeviceDelResult requested = await WithSessionAsync((c, ct) => c.RequestUnplugAsync(id, ct), cancellationToken).ConfigureAwait(false);
        DateTime deadline = DateTime.UtcNow + _options.DetachTimeout;
        int polls = 0;
        while (true)
        {
            if (await WithSessionAsync((c, ct) => c.TryFinishUnplugAsync(id, ct), cancellationToken).ConfigureAwait(false))
            {
                Log.DetachPollingDone(_logger, _name, id, polls);
                Expect(id, present: false);
                return requested == DeviceDelResult.NotFound ? DetachResult.AlreadyGone : DetachResult.Detached;
            }

            if (DateTime.UtcNow >= deadline)
            {
                _dirty = true;
                return DetachResult.Pending;
            }

            polls++;
            await Task.Delay(s_detachPoll, cancellationToken).ConfigureAwait(false);
        }
    }
}
