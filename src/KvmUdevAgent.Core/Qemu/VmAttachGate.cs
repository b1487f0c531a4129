using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// "May the agent attach into this VM now?", answered in one place for every attach and reconcile
/// path (rules, manual, reconnect, start-up): not while our own <c>migrate</c> holds the VM, not into
/// a QEMU whose VM has migrated away, and not while QEMU's run state is <c>inmigrate</c>,
/// <c>postmigrate</c>, <c>finish-migrate</c> or a migration is under way (design §7). Over QMP the
/// state is kept from QEMU's events (<c>RESUME</c>, <c>STOP</c>, <c>MIGRATION</c>), which also drive
/// the guard against migrations started elsewhere; over HMP it is asked before each attach, and
/// polled while refused. When a refused VM becomes attachable, <c>onAttachable</c> runs (the
/// reconcile).
/// </summary>
internal sealed partial class VmAttachGate
{
    /// <summary>How often an HMP VM that refuses attaches is asked again (HMP has no events).</summary>
    public static readonly TimeSpan HmpPollInterval = TimeSpan.FromSeconds(1);

    private readonly string _vm;
    private readonly Func<CancellationToken, Task> _onAttachable;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private string? _heldBy;
    private MonitorCommands? _departed;
    private MonitorCommands? _stateOf;
    private VmRunState? _state;

    public VmAttachGate(string vm, Func<CancellationToken, Task> onAttachable, ILogger logger)
    {
        _vm = vm;
        _onAttachable = onAttachable;
        _logger = logger;
    }

    /// <summary>The VM's <c>migration:</c> setting. Default <see cref="MigrationPolicy.Guard"/>.</summary>
    public MigrationPolicy Policy { get; set; } = MigrationPolicy.Guard;

    /// <summary>Raised (on the event loop) after the guard acted; the agent logs and audits it.</summary>
    public event Action<MigrationGuardReport>? GuardActed;

    /// <summary>True while our own <c>migrate</c> holds the VM.</summary>
    public bool IsHeld
    {
        get
        {
            lock (_lock)
            {
                return _heldBy is not null;
            }
        }
    }

    /// <summary>
    /// Holds the VM for a migration (no attach until released); false, with who holds it, when
    /// another migration already does.
    /// </summary>
    public bool TryHold(string holder, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? heldBy)
    {
        lock (_lock)
        {
            if (_heldBy is { } other)
            {
                heldBy = other;
                return false;
            }

            _heldBy = holder;
            heldBy = null;
            return true;
        }
    }

    /// <summary>Ends the hold. The cached run state is dropped: the next question asks QEMU, which may not have sent its events yet.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _heldBy = null;
            _stateOf = null;
        }
    }

    /// <summary>The VM on <paramref name="commands"/>' QEMU has migrated away: nothing is attached to that QEMU again.</summary>
    public void MarkDeparted(MonitorCommands commands)
    {
        lock (_lock)
        {
            _departed = commands;
        }
    }

    /// <summary>Why nothing may be attached into the VM on <paramref name="current"/> now; null when it may.</summary>
    public async Task<string?> RefusalAsync(MonitorCommands current, CancellationToken cancellationToken)
    {
        VmRunState? cached;
        lock (_lock)
        {
            if (_heldBy is not null)
            {
                return $"VM '{_vm}' is being migrated ({_heldBy}); nothing is attached until that ends";
            }

            if (ReferenceEquals(_departed, current))
            {
                return $"VM '{_vm}' has migrated away from this QEMU; nothing is attached to it again (a new QEMU on its monitor is a new VM)";
            }

            cached = ReferenceEquals(_stateOf, current) && current.Connection is QmpConnection ? _state : null;
        }

        VmRunState state = cached ?? await QueryAsync(current, cancellationToken).ConfigureAwait(false);
        return state.Refusal is { } refusal ? $"VM '{_vm}': {refusal}; its devices are attached once it runs" : null;
    }

    private async Task<VmRunState> QueryAsync(MonitorCommands commands, CancellationToken cancellationToken)
    {
        VmRunState state = await MigrationCommands.QueryRunStateAsync(commands.Connection, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _state = state;
            _stateOf = commands;
        }

        Log.GateRunState(_logger, _vm, state.RunState, state.Migration);
        return state;
    }

    /// <summary>
    /// Runs on every (re)connect before the reconcile: over QMP turns on the <c>events</c>
    /// migration capability (per QEMU; without it no <c>MIGRATION</c> event comes) and starts
    /// following the events; over HMP, polls while the VM refuses attaches. Never throws for a
    /// monitor that misbehaves: the reconcile then asks again.
    /// </summary>
    public async Task OnConnectedAsync(MonitorCommands commands, CancellationToken cancellationToken)
    {
        try
        {
            if (commands.Connection is QmpConnection qmp)
            {
                try
                {
                    await MigrationCommands.EnableCapabilitiesAsync(qmp, [MigrationCommands.EventsCapability], cancellationToken).ConfigureAwait(false);
                }
                catch (QmpException e)
                {
                    // A destination refuses capability changes while its incoming migration runs.
                    Log.GateEventsUnavailable(_logger, _vm, e.Description);
                }

                _ = FollowEventsAsync(commands, qmp, cancellationToken);
                await QueryAsync(commands, cancellationToken).ConfigureAwait(false);
                return;
            }

            VmRunState state = await QueryAsync(commands, cancellationToken).ConfigureAwait(false);
            if (state.Refusal is { } refusal)
            {
                Log.GatePolling(_logger, _vm, refusal, HmpPollInterval);
                _ = PollUntilAttachableAsync(commands, cancellationToken);
            }
        }
        catch (Exception e) when (e is MonitorException or IOException)
        {
            Log.GateQueryFailed(_logger, _vm, "reading the run state", e);
        }
    }

    private async Task PollUntilAttachableAsync(MonitorCommands commands, CancellationToken cancellationToken)
    {
        try
        {
            while (!commands.Connection.Completion.IsCompleted)
            {
                await Task.Delay(HmpPollInterval, cancellationToken).ConfigureAwait(false);
                if ((await QueryAsync(commands, cancellationToken).ConfigureAwait(false)).Refusal is null)
                {
                    await _onAttachable(cancellationToken).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is MonitorException or IOException)
        {
            Log.GateQueryFailed(_logger, _vm, "polling the run state", e);
        }
    }
}
