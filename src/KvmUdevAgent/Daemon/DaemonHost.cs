using System.Globalization;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;

namespace KvmUdevAgent.Daemon;

/// <summary>Builds the Generic Host that runs the agent: logging, systemd integration, the pipeline.</summary>
internal static class DaemonHost
{
    /// <summary>Log lines queued for stderr before a writer waits for the worker (a burst of plans, not a steady state).</summary>
    internal const int LogQueueCapacity = 10_000;

    public static IHost Build(AgentConfig config, DaemonOptions options)
    {
        // The empty builder reads no appsettings or environment configuration: the agent's own
        // config file is the one source of settings, and start-up stays small for NativeAOT.
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "kvm-udev-agent",
            ContentRootPath = "/",
        });

        // Readiness goes through NOTIFY_SOCKET whenever it is set (see SystemdReadiness), not only
        // when the parent process is systemd as AddSystemd() decides: the same protocol then also
        // serves other supervisors and the tests.
        builder.Services.AddHostedService<SystemdReadiness>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.Verbose ? LogLevel.Debug : LogLevel.Information);
        Serilog.Core.Logger logger = CreateLogger(config, options);
        builder.Logging.AddSerilog(logger, dispose: true);
        // The host disposes (flushes) the logger when it stops; a crash does not stop the host, so
        // the lines queued before it are written here, before the runtime prints the exception.
        AppDomain.CurrentDomain.UnhandledException += (_, _) => logger.Dispose();
        // A start failure is printed once, by 'run', with every diagnostic; the host's own
        // "Hosting failed to start" line with a stack trace would only repeat it.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(options);
        DaemonServices.Add(builder.Services);
        // Issue 15: the one start-time options validation the builder registers is the metrics
        // listener's (AddMetrics' ValidateOnStart, which only starts its subscription manager), and
        // metrics are trimmed (MetricsSupport=false). Running it bound the metrics configuration
        // through reflection: 0.88 MB allocated at start, for nothing. The agent validates its own
        // settings when it loads them, not through ValidateOnStart.
        builder.Services.RemoveAll<IStartupValidator>();
        return builder.Build();
    }

    private static Serilog.Core.Logger CreateLogger(AgentConfig config, DaemonOptions options)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(options.Verbose ? LogEventLevel.Debug : LogEventLevel.Information);
        // With bad audit settings the daemon refuses to start and says why on stderr, so the log
        // stays there too.
        if (config.Log == LogTarget.Syslog && AuditSettings.TryCreate(config.Audit, out AuditSettings? settings, out _))
        {
            return configuration.WriteToSyslog(settings.ForLog()).CreateLogger();
        }

        return WriteToStderr(configuration, options.LogFormat, Console.OpenStandardError(), LogQueueCapacity).CreateLogger();
    }

    /// <summary>
    /// The log on <paramref name="output"/> (stderr), written by a thread of its own (<see cref="StderrLogSink"/>),
    /// never on the event path. A full queue blocks the logging thread rather than dropping lines:
    /// stderr is a local pipe (journald, a terminal, the tests), and under --dry-run the plan lines
    /// are the output itself.
    /// </summary>
    internal static LoggerConfiguration WriteToStderr(LoggerConfiguration configuration, LogFormat format, Stream output, int queueCapacity)
    {
        ITextFormatter formatter = format == LogFormat.Json
            ? new CompactJsonFormatter()
            : new MessageTemplateTextFormatter("{Level:u3} {Message:lj}{NewLine}{Exception}", CultureInfo.InvariantCulture);
        // Kept as the object, not its text, until the writer thread renders the line: the plan's text is
        // built there, off the event path.
        configuration = configuration.Destructure.AsScalar<PlanText>();
        return configuration.WriteTo.Sink(new StderrLogSink(formatter, output, queueCapacity));
    }
}

/// <summary>Options of <c>run</c> that are not in the configuration file.</summary>
internal sealed record DaemonOptions
{
    public bool DryRun { get; init; }

    public bool Verbose { get; init; }

    public LogFormat LogFormat { get; init; } = LogFormat.Text;

    /// <summary>How long SIGTERM waits for in-flight actions before the process exits.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

internal enum LogFormat
{
    Text,
    Json,
}
