using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Runs hooks: argv only (no shell, no PATH lookup), a clean environment plus <c>KUA_*</c>,
/// its own session and process group, no inherited descriptors, a timeout that terminates
/// the whole group, bounded output. Results are returned, not logged above Debug.
/// </summary>
internal sealed class HookRunner(ILogger<HookRunner>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>
    /// Runs the hook to completion. On timeout the process group gets SIGTERM, then SIGKILL
    /// after <see cref="HookRequest.KillGrace"/>. When the main process is gone, any process
    /// left in its group is killed, as udev does for <c>RUN+=</c> programs: a hook that wants
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
        HookProcess process;
        try
        {
            process = HookProcess.Start(argv[0], argv, environment, Math.Max(0, request.OutputLimit));
        }
        catch (HookStartException e)
        {
            return new HookResult { Outcome = HookOutcome.NotStarted, Error = e.Message, Duration = Stopwatch.GetElapsedTime(started) };
        }
        await using (process.ConfigureAwait(false))
        {
            Log.HookStarted(_logger, argv[0], process.Pid);
            var timedOut = false;
            try
            {
                await process.Exited.WaitAsync(request.Timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                timedOut = true;
                await TerminateAsync(process, request.KillGrace).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await TerminateAsync(process, request.KillGrace).ConfigureAwait(false);
                throw;
            }

            // The main process is an unreaped zombie here, so the group id is still ours.
            process.SignalGroup(HookNative.SigKill);
            var (exitCode, signal) = process.Reap();
            await process.CollectOutputAsync(HookDefaults.OutputDrain).ConfigureAwait(false);
            var outcome = timedOut ? HookOutcome.TimedOut
                : signal is not null ? HookOutcome.Signaled
                : HookOutcome.Exited;
            Log.HookCompleted(_logger, argv[0], process.Pid, outcome, exitCode, signal);
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

    private async Task TerminateAsync(HookProcess process, TimeSpan grace)
    {
        process.SignalGroup(HookNative.SigTerm);
        Log.HookSignalled(_logger, process.Pid, HookNative.SigTerm);
        try
        {
            await process.Exited.WaitAsync(grace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            process.SignalGroup(HookNative.SigKill);
            Log.HookSignalled(_logger, process.Pid, HookNative.SigKill);
            await process.Exited.ConfigureAwait(false);
        }
    }
}
