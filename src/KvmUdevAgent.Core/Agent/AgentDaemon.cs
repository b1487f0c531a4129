using System.Diagnostics;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Vms;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.State;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// The agent: everything <c>kvm-udev-agent run</c> does. <see cref="StartAsync"/> does all that must
/// happen before readiness (rules, state, source, control socket, coldplug queued); <see cref="RunAsync"/>
/// then routes events until cancelled; <see cref="DisposeAsync"/> finishes in-flight work within
/// <see cref="AgentDaemonOptions.ShutdownGrace"/> and releases everything.
/// </summary>
public sealed partial class AgentDaemon : IAsyncDisposable
{
    private readonly AgentConfig _config;
    private readonly AgentDaemonOptions _options;
    /// <summary>The category (Serilog's source context) of the agent's own log lines, the plan's line among them.</summary>
    internal const string LogCategory = "KvmUdevAgent.Agent";

    private readonly ILogger _logger;
    private readonly RuleStore _rules;
    private readonly StateStore _state;
    private readonly AuditSink? _auditSink;
    private readonly IAuditWriter _audit;
    private readonly VmRegistry _vms;
    private readonly IUeventSource _source;
    private readonly MountAction _mounts;
    private readonly EventPipeline _pipeline;
    private readonly VmReconcileCoordinator _reconcile;
    private readonly AgentCounters _counters;
    private readonly DateTimeOffset _startedAt;
    private static readonly TimeSpan s_noVmAnswerGrace = TimeSpan.FromSeconds(2);
    private readonly CancellationTokenSource _stopping = new();
    private ControlServer? _control;
    private int _disposed;

    private AgentDaemon(AgentConfig config, AgentDaemonOptions options, ILoggerFactory loggerFactory, RuleStore rules, StateStore state, AuditSink? auditSink, VmRegistry vms, IUeventSource source)
    {
        _config = config;
        _options = options;
        _logger = loggerFactory.CreateLogger(LogCategory);
        _rules = rules;
        _state = state;
        _auditSink = auditSink;
        _audit = auditSink is null ? NullAuditWriter.Instance : auditSink;
        _vms = vms;
        _source = source;
        _startedAt = DateTimeOffset.UtcNow;
        _counters = new AgentCounters();
        _mounts = new MountAction(config.MountBase, loggerFactory.CreateLogger<MountAction>());
        var tracker = new DeviceTracker();
        var views = new DeviceViewFactory(config.SysfsRoot, new BlkidProbe(), loggerFactory.CreateLogger<DeviceViewFactory>(), cacheUsbDevices: true);
        HookCgroups? cgroups = HookCgroups.TryCreate(out string cgroupsUnavailable);
        if (cgroups is null)
        {
            Log.HookCgroupsUnavailable(_logger, cgroupsUnavailable);
        }
        else if (cgroups.SweptAtStart.Count > 0)
        {
            Log.HookCgroupsSwept(_logger, cgroups.SweptAtStart.Count, string.Join(", ", cgroups.SweptAtStart));
        }

        var executor = new PlanExecutor(vms, _mounts, new HookRunner(loggerFactory.CreateLogger<HookRunner>(), cgroups), state, _audit, _counters, _logger);
        _reconcile = new VmReconcileCoordinator(vms, rules, tracker, state, _audit, _logger);
        _pipeline = new EventPipeline(views, tracker, rules, executor, new ColdplugEnumerator(config.SysfsRoot), _reconcile, _audit, _counters, _logger, options.PlanLog ?? new LoggerPlanLog(_logger), options.DryRun);
        Executor = executor;
    }

    internal PlanExecutor Executor { get; }

    internal DeviceTracker Tracker => _pipeline.Tracker;

    /// <summary>
    /// Loads the rules (refusing to start on any error), opens the state, the audit sink, the event
    /// source (before coldplug, so nothing in between is missed) and the control socket, reconciles
    /// the recorded mounts with the mount table, and queues coldplug. Throws
    /// <see cref="AgentStartException"/> with every diagnostic when it cannot start.
    /// </summary>
    public static async Task<AgentDaemon> StartAsync(AgentConfig config, AgentDaemonOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ILogger logger = loggerFactory.CreateLogger(LogCategory);

        var rules = new RuleStore(config.RulesDir, config.Vms.Keys.ToHashSet(StringComparer.Ordinal), new RulePermissions(options.RulesOwnerUid));
        RuleReloadResult loaded = rules.Load();
        if (!loaded.Succeeded)
        {
            rules.Dispose();
            throw new AgentStartException(
                $"the rules in {config.RulesDir} have errors; fix them (check with 'kvm-udev-agent rules validate') and start again",
                [.. loaded.Diagnostics.Select(d => d.ToString())]);
        }

        if (!AuditSettings.TryCreate(config.Audit, out AuditSettings? auditSettings, out string? auditError))
        {
            rules.Dispose();
            throw new AgentStartException("the audit settings are invalid: " + auditError);
        }

        if (!VmRegistry.TryCreate(config.Vms.Values, null, loggerFactory, out VmRegistry vms, out IReadOnlyList<string> vmErrors))
        {
            rules.Dispose();
            throw new AgentStartException("the VM settings are invalid", vmErrors);
        }

        StateStore state;
        try
        {
            state = await StateStore.OpenAsync(config.StateFile, loggerFactory.CreateLogger<StateStore>(), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            rules.Dispose();
            await vms.DisposeAsync().ConfigureAwait(false);
            throw new AgentStartException($"cannot read the state file {config.StateFile}: {e.Message}", e);
        }

        if (state.LoadResult.Outcome == StateLoadOutcome.Corrupt)
        {
            Log.StateRecovered(logger, config.StateFile, state.LoadResult.Reason ?? "corrupt");
        }

        IUeventSource source;
        try
        {
            // The pipeline never blocks between two reads (what may block runs aside): the first event
            // after a quiet spell may run it on the receive thread, one thread wake-up fewer (issue 15).
            var sourceOptions = new UeventSourceOptions { ReceiveBufferBytes = config.ReceiveBufferBytes, ResumeIdleReaderInline = true };
            source = UeventSources.Open(config.Source, sourceOptions, loggerFactory.CreateLogger("KvmUdevAgent.Events"));
        }
        catch (IOException e)
        {
            rules.Dispose();
            await vms.DisposeAsync().ConfigureAwait(false);
            await state.DisposeAsync().ConfigureAwait(false);
            throw new AgentStartException("cannot open the netlink uevent socket: " + e.Message, e);
        }

        AuditSink? auditSink = AuditSink.Create(auditSettings);
        var daemon = new AgentDaemon(config, options, loggerFactory, rules, state, auditSink, vms, source);
        try
        {
            daemon._control = await ControlServer.StartAsync(
                new ControlServerOptions { SocketPath = config.ControlSocket, GroupId = ResolveGroup(config.ControlGroup) },
                new AgentControlHandler(daemon),
                loggerFactory.CreateLogger<ControlServer>(),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ControlSocketInUseException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            await daemon.DisposeAsync().ConfigureAwait(false);
            throw new AgentStartException($"cannot listen on the control socket {config.ControlSocket}: {e.Message}", e);
        }

        await daemon.BeginAsync(cancellationToken).ConfigureAwait(false);
        return daemon;
    }

    private static uint? ResolveGroup(string? group)
    {
        if (group is null)
        {
            return null;
        }

        return ControlGroup.TryResolve(group, out uint gid, out string? reason)
            ? gid
            : throw new AgentStartException($"control_group '{group}': {reason}");
    }

    private async Task BeginAsync(CancellationToken cancellationToken)
    {
        using (var record = new AuditRecord(_audit, AuditTypes.AgentStart))
        {
            record.Action = _options.DryRun ? "start (dry run)" : "start";
            record.Set("generation", _rules.Current.Generation);
            record.Set("source", _source.Kind.ToString().ToLowerInvariant());
            record.Succeed();
        }

        if (!_options.DryRun)
        {
            await ReconcileMountsAsync(cancellationToken).ConfigureAwait(false);
        }

        WatchMigrationGuards();
        int present = _pipeline.Coldplug(cancellationToken);
        _rules.Reloaded += OnRulesReloaded;
        _rules.ReloadSkipped += OnRulesReloadSkipped;
        _rules.StartWatching(_options.RulesReloadDebounce);
        if (!_options.DryRun)
        {
            // Monitors connect once coldplug has been read and planned, so the first reconcile of
            // each VM sees every present device and detaches nothing that is still wanted. Only
            // read: a hook of a present device may run for an hour, and the VMs do not wait for
            // it (issue 17).
            _ = Task.Run(async () =>
            {
                await _pipeline.ObservedAsync(_stopping.Token).ConfigureAwait(false);
                _reconcile.Register();
                _vms.Start();
                await WarnIfNoVmAnswersAsync(_stopping.Token).ConfigureAwait(false);
            }, CancellationToken.None);
        }

        Log.Started(_logger, _source.Kind.ToString().ToLowerInvariant(), _rules.Current.Rules.Count, _rules.Current.Generation, _vms.Vms.Count, present, _options.DryRun ? " (dry run: acting on nothing)" : string.Empty);
    }

    /// <summary>
    /// A VM that is down at start is normal (it may boot later), but an administrator whose monitor
    /// path is wrong must hear about it: if no monitor has answered after the first attempts, say so
    /// once. Monitors keep retrying in the background either way.
    /// </summary>
    private async Task WarnIfNoVmAnswersAsync(CancellationToken cancellationToken)
    {
        if (_vms.Vms.Count == 0)
        {
            return;
        }

        try
        {
            await Task.Delay(s_noVmAnswerGrace, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (_vms.Vms.All(m => m.ConnectCount == 0))
        {
            Log.NoVmReachable(_logger, string.Join(", ", _vms.Vms.Select(m => m.Name + " at " + m.Target)));
        }
    }

    /// <summary>Routes events until <paramref name="cancellationToken"/> fires or the source fails.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await _pipeline.RunAsync(_source, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Reloads the rules now; a bad set keeps the previous one. Also what SIGHUP does.</summary>
    public ReloadReport ReloadRules()
    {
        long previous = _rules.Current.Generation;
        // The store raises Reloaded for this reload too: the same record, log line and reconcile
        // as one by the directory watcher (design §3, style 18).
        RuleReloadResult result = _rules.Reload();
        return result.Succeeded
            ? new ReloadReport { PreviousGeneration = previous, Generation = result.ActiveGeneration, Rules = result.RuleCount, Warnings = [.. result.Diagnostics.Select(d => d.ToString())] }
            : throw new ControlException(ControlErrorCodes.InvalidRules, string.Join('\n', result.Diagnostics.Where(d => d.Severity == Severity.Error).Select(d => d.ToString())) + "\nkeeping previous rules (generation " + result.ActiveGeneration + ")");
    }

    private void OnRulesReloaded(RuleReloadResult result)
    {
        using (var record = new AuditRecord(_audit, AuditTypes.RulesReload))
        {
            record.Action = "reload";
            record.Set("generation", result.ActiveGeneration);
            record.Set("attempted_generation", result.AttemptedGeneration);
            record.Set("rules", result.RuleCount);
            if (result.Succeeded)
            {
                Log.RulesReloaded(_logger, result.ActiveGeneration, result.RuleCount);
                record.Succeed();
            }
            else
            {
                ImmutableErrors(result, out int errors, out string first);
                Log.RulesReloadFailed(_logger, result.AttemptedGeneration, errors, result.ActiveGeneration);
                record.Fail($"{errors} errors, keeping previous rules; first: {first}");
            }
        }

        if (result.Succeeded)
        {
            // Devices whose events no rule could read before, or whose filesystem no rule needed,
            // are completed for the new rules first, so the reconcile sees them as it would have.
            _ = Task.Run(async () =>
            {
                await _pipeline.CompleteViewsAsync(_stopping.Token).ConfigureAwait(false);
                if (!_options.DryRun)
                {
                    await _reconcile.ReconcileAllAsync(_stopping.Token).ConfigureAwait(false);
                }
            });
        }
    }

    private void OnRulesReloadSkipped(long generation) => Log.RulesUnchanged(_logger, generation);

    private static void ImmutableErrors(RuleReloadResult result, out int errors, out string first)
    {
        var list = result.Diagnostics.Where(d => d.Severity == Severity.Error).ToList();
        errors = list.Count;
        first = list.Count > 0 ? list[0].ToString() : "unknown";
    }

    /// <summary>What <c>status</c> shows.</summary>
    public StatusReport Status()
    {
        UeventSourceCounters source = _source.Counters;
        AgentState snapshot = _state.Snapshot;
        return new StatusReport
        {
            Version = typeof(AgentDaemon).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            Pid = Environment.ProcessId,
            StartedAt = _startedAt,
            UptimeSeconds = Math.Round((DateTimeOffset.UtcNow - _startedAt).TotalSeconds, 1),
            Source = _source.Kind.ToString().ToLowerInvariant(),
            DryRun = _options.DryRun,
            Rules = _rules.Current.Rules.Count,
            RulesGeneration = _rules.Current.Generation,
            Counters = new StatusCounters
            {
                Events = _counters.Events,
                Matched = _counters.Matched,
                Acted = _counters.Acted,
                Failed = _counters.Failed,
                Dropped = source.Untrusted + source.Malformed,
                Coalesced = _pipeline.Coalesced,
                QueueDropped = _pipeline.QueueDropped,
            },
            AuditDropped = _auditSink?.Status.Dropped ?? 0,
            AuditQueued = _auditSink?.Status.Queued ?? 0,
            AuditError = _auditSink?.Status.LastError,
            Attachments = snapshot.Attachments.Length,
            Mounts = snapshot.Mounts.Length,
            StateError = _state.LastWriteError?.Message,
        };
    }

    /// <summary>Stops routing, finishes in-flight actions within the grace period, flushes state and audit.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Log.Stopping(_logger, _pipeline.BusyDevices);
        _rules.Reloaded -= OnRulesReloaded;
        _rules.ReloadSkipped -= OnRulesReloadSkipped;
        _rules.Dispose();
        await _source.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _pipeline.DrainAsync(CancellationToken.None).WaitAsync(_options.ShutdownGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_control is not null)
        {
            await _control.DisposeAsync().ConfigureAwait(false);
        }

        await _pipeline.DisposeAsync().ConfigureAwait(false);
        await _vms.DisposeAsync().ConfigureAwait(false);
        _reconcile.Dispose();
        using (var record = new AuditRecord(_audit, AuditTypes.AgentStop))
        {
            record.Action = "stop";
            record.Succeed();
        }

        await _state.DisposeAsync().ConfigureAwait(false);
        if (_auditSink is not null)
        {
            await _auditSink.DisposeAsync().ConfigureAwait(false);
        }

        _mounts.Dispose();
        _stopping.Dispose();
        LogStopped();
    }

    // The last line of every run: an administrator reading the journal after a stop learns
    // whether the audit trail is complete, and if not, how many records it lacks and why.
    private void LogStopped()
    {
        if (_auditSink is null)
        {
            Log.Stopped(_logger, 0, "nowhere (audit is off)");
            return;
        }

        SyslogQueueStatus status = _auditSink.Status;
        if (status.Dropped == 0)
        {
            Log.Stopped(_logger, status.Sent, status.Target);
        }
        else
        {
            Log.StoppedUndelivered(_logger, status.Dropped, status.Target, status.Sent, status.LastError ?? "the queue was full");
        }
    }

    private async Task ReconcileMountsAsync(CancellationToken cancellationToken)
    {
        // A mount recorded in the state: gone from the mount table → forget it; still mounted but
        // its device went away while the agent was down → unmount it now.
        foreach (MountRecord mount in _state.Snapshot.Mounts)
        {
            bool mounted = _mounts.FindMounts().Any(m => m.MountPoint == mount.MountPoint);
            if (!mounted)
            {
                _state.RemoveMount(mount.MountPoint);
                continue;
            }

            if (!Directory.Exists(Path.Join(_config.SysfsRoot, mount.Device.DevPath)))
            {
                var gone = Uevent.Create(UeventSource.Sysfs, [new("ACTION", "remove"), new("DEVPATH", mount.Device.DevPath), new("SUBSYSTEM", "block")], receivedTimestamp: Stopwatch.GetTimestamp());
                var identity = new DeviceIdentity { Vendor = mount.Device.Vendor, Product = mount.Device.Product, Serial = mount.Device.Serial, DevNode = mount.DevNode };
                await Executor.UnmountAsync(mount, new DeviceView(gone, identity, null), rule: null, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
