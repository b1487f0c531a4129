using System.Runtime.InteropServices;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Control;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// Hosts <see cref="AgentDaemon"/>. Everything that must be done before readiness happens in
/// <see cref="StartAsync"/>, because the host signals systemd (READY=1) only after every hosted
/// service has started, and .NET 10 runs <see cref="BackgroundService.ExecuteAsync"/> in the background.
/// </summary>
internal sealed partial class AgentHostedService(AgentConfig config, DaemonOptions options, ILoggerFactory loggerFactory, IPlanLog planLog, IHostApplicationLifetime lifetime) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("KvmUdevAgent.Host");
    private AgentDaemon? _daemon;
    private PosixSignalRegistration? _hangup;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _daemon = await AgentDaemon.StartAsync(
            config,
            new AgentDaemonOptions { DryRun = options.DryRun, ShutdownGrace = options.ShutdownTimeout - TimeSpan.FromSeconds(1), PlanLog = planLog },
            loggerFactory,
            cancellationToken).ConfigureAwait(false);
        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            Reload();
        });
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Reload()
    {
        try
        {
            ReloadReport report = _daemon!.ReloadRules();
            LogReloaded(_logger, report.Generation, report.Rules);
        }
        catch (ControlException e)
        {
            // The daemon has logged and audited the diagnostics; the previous rules stay.
            LogReloadRefused(_logger, e.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _daemon!.RunAsync(stoppingToken).ConfigureAwait(false);
        if (!stoppingToken.IsCancellationRequested)
        {
            // The source ended on its own (socket error): stop, so systemd restarts us.
            LogSourceEnded(_logger);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _hangup?.Dispose();
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(9100, LogLevel.Information, "SIGHUP: rules reloaded, generation {Generation}, {Rules} rules")]
    private static partial void LogReloaded(ILogger logger, long generation, int rules);

    [LoggerMessage(9101, LogLevel.Warning, "SIGHUP: reload refused, keeping previous rules: {Reason}")]
    private static partial void LogReloadRefused(ILogger logger, string reason);

    [LoggerMessage(9102, LogLevel.Error, "The event source stopped; exiting so the service manager restarts the agent")]
    private static partial void LogSourceEnded(ILogger logger);
}
