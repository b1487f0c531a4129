using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Runs hooks: argv only (no shell, no PATH lookup), a clean environment plus <c>KUA_*</c>,
/// its own session and process group, and (with <paramref name="cgroups"/>) its own cgroup, no
/// inherited descriptors, a timeout that terminates the whole group and cgroup, bounded output.
/// Results are returned, not logged above Debug.
/// </summary>
internal sealed class HookRunner(ILogger<HookRunner>? logger = null, HookCgroups? cgroups = null)
{
    /// <summary>How long to wait for a killed cgroup to empty so it can be removed.</summary>
    private static readonly TimeSpan s_cgroupRemoveWait = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>
    /// Runs the hook to completion. On timeout the process group and cgroup get SIGTERM, then
    /// SIGKILL after <see cref="HookRequest.KillGrace"/>. When the main process is gone, any process
    /// left in its group or cgroup is killed (and the cgroup removed), as udev does for <c>RUN+=</c> programs: a hook that wants
    /// something to outlive it must hand it to systemd (<c>systemd-run</c>). On cancellation
    /// the group is terminated the same way and <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    public async Task<HookResult> RunAsync(HookRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        if (!HookEnvironment.TryBuild(request, out var argv, out var environment, out var reason))
        {
            return new HookResult { Outcome = HookOutcome.NotStarted, Error = reason, Duration = Stopwatch.GetElapsedTime(started) };
        }
        cancellationToken.ThrowIfCancellationRequested();
        HookCgroup? cgroup = null;
        if (cgroups is not null)
        {
            cgroup = cgroups.TryCreateOne(out var why);
            if (cgroup is null)
            {
                Log.HookCgroupFailed(_logger, argv[0], why);
            }
        }
        HookProcess process;
        try
        {
            process = HookProcess.Start(argv[0], argv, environment, Math.Max(0, request.OutputLimit), cgroup);
        }
        catch (HookStartException e)
        {
            cgroup?.Remove();
            return new HookResult { Outcome = HookOutcome.NotStarted, Error = e.Message, Duration = Stopwatch.GetElapsedTime(started) };
        }
        if (process.CgroupError is { } cgroupError)
        {
            Log.HookCgroupFailed(_logger, argv[0], cgroupError);
        }
        try
        {
            return await WaitAsync(process, cgroup, request, argv[0], started, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (cgroup is not null && !await cgroup.RemoveAsync(s_cgroupRemoveWait).ConfigureAwait(false))
            {
                Log.HookCgroupLeft(_logger, cgroup.Path);
            }
        }
    }

    private async Task<HookResult> WaitAsync(HookProcess process, HookCgroup? cgroup, HookRequest request, string program, long started, CancellationToken cancellationToken)
    {
        await using (process.ConfigureAwait(false))
        {
            Log.HookStarted(_logger, program, process.Pid);
            var timedOut = false;
            try
            {
                await process.Exited.WaitAsync(request.Timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                timedOut = true;
                await TerminateAsync(process, cgroup, request.KillGrace).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await TerminateAsync(process, cgroup, request.KillGrace).ConfigureAwait(false);
                throw;
            }

            // The main process is an unreaped zombie here, so the group id is still ours.
            process.SignalGroup(HookNative.SigKill);
            cgroup?.Signal(HookNative.SigKill);
            var (exitCode, signal) = process.Reap();
            await process.CollectOutputAsync(HookDefaults.OutputDrain).ConfigureAwait(false);
            var outcome = timedOut ? HookOutcome.TimedOut
                : signal is not null ? HookOutcome.Signaled
                : HookOutcome.Exited;
            Log.HookCompleted(_logger, program, process.Pid, outcome, exitCode, signal);
            return new HookResult
            {
                Outcome = outcome,
                ExitCode = exitCode,
                Signal = signal,
                Pid = process.Pid,
                Stdout = process.Stdout.ToText(),
                StdoutTruncated = process.Stdout.Truncated,
                Stderr = process.Stderr.ToText(),
                StderrTruncated = process.Stderr.Truncated,
                Error = exitCode is null && signal is null
                    ? "exit status unavailable: another reaper took it (.NET reaps every child when the agent runs as PID 1 or started with SIGCHLD ignored)"
                    : null,
                Duration = Stopwatch.GetElapsedTime(started),
            };
        }
    }

    private async Task TerminateAsync(HookProcess process, HookCgroup? cgroup, TimeSpan grace)
    {
        process.SignalGroup(HookNative.SigTerm);
        cgroup?.Signal(HookNative.SigTerm);
        Log.HookSignalled(_logger, process.Pid, HookNative.SigTerm);
        try
        {
            await process.Exited.WaitAsync(grace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            process.SignalGroup(HookNative.SigKill);
            cgroup?.Signal(HookNative.SigKill);
            Log.HookSignalled(_logger, process.Pid, HookNative.SigKill);
            await process.Exited.ConfigureAwait(false);
        }
    }
}
