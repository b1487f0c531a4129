using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Audit;
using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;

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
        // Issue 15: the host's options and the logger factory are registered as they are, not through
        // Configure<T>, SetMinimumLevel and AddFilter. Those resolve through the open generic
        // IOptions<>/IOptionsMonitor<>/IOptionsFactory<>/IOptionsMonitorCache<> registrations and arrays
        // of IConfigureOptions<T>, IPostConfigureOptions<T>, IValidateOptions<T> and change-token
        // sources, which NativeAOT cannot compile ahead (DI closes them at run time): its type loader
        // built them in HostApplicationBuilder.Build, 1.0 MB allocated where 0.1 MB remain. The
        // daemon never changes these options after start, so nothing monitors them.
        builder.Services.AddSingleton<IOptions<HostOptions>>(Options.Create(new HostOptions { ShutdownTimeout = options.ShutdownTimeout }));
        builder.Services.AddSingleton<IOptions<ConsoleLifetimeOptions>>(Options.Create(new ConsoleLifetimeOptions { SuppressStatusMessages = true }));
        Serilog.Core.Logger logger = CreateLogger(config, options, out StderrLogSink? stderr);
        // Serilog's own ILoggerFactory in place of Microsoft.Extensions.Logging's: the levels and the
        // two category filters are Serilog's (CreateLogger), so no LoggerFilterOptions are monitored.
        builder.Services.AddSerilog(logger, dispose: true);
        // The plans' lines go to the same logger without Microsoft.Extensions.Logging (issue 15).
        builder.Services.AddSingleton<IPlanLog>(new SerilogPlanLog(logger, stderr));
        // The host's lifetime logs through ILogger<ApplicationLifetime>: closed here, the compiler
        // builds it ahead instead of the type loader at run time.
        builder.Services.AddSingleton<ILogger<ApplicationLifetime>>(sp => new Logger<ApplicationLifetime>(sp.GetRequiredService<ILoggerFactory>()));
        // The host disposes (flushes) the logger when it stops; a crash does not stop the host, so
        // the lines queued before it are written here, before the runtime prints the exception.
        AppDomain.CurrentDomain.UnhandledException += (_, _) => logger.Dispose();
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

    /// <summary>The daemon's logger; <paramref name="stderr"/> is its one sink when it logs to stderr (<see cref="SerilogPlanLog"/> queues plans' lines there).</summary>
    private static Serilog.Core.Logger CreateLogger(AgentConfig config, DaemonOptions options, out StderrLogSink? stderr)
    {
        stderr = null;
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(options.Verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            // A start failure is printed once, by 'run', with every diagnostic; the host's own
            // "Hosting failed to start" line with a stack trace would only repeat it.
            .MinimumLevel.Override("Microsoft.Extensions.Hosting.Internal.Host", LevelAlias.Off)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Warning);
        // With bad audit settings the daemon refuses to start and says why on stderr, so the log
        // stays there too.
        if (config.Log == LogTarget.Syslog && AuditSettings.TryCreate(config.Audit, out AuditSettings? settings, out _))
        {
            return configuration.WriteToSyslog(settings.ForLog()).CreateLogger();
        }

        Serilog.Core.Logger logger = WriteToStderr(configuration, options.LogFormat, Console.OpenStandardError(), LogQueueCapacity, out StderrLogSink sink).CreateLogger();
        stderr = sink;
        return logger;
    }

    /// <summary>
    /// The log on <paramref name="output"/> (stderr), written by a thread of its own (<see cref="StderrLogSink"/>),
    /// never on the event path. A full queue blocks the logging thread rather than dropping lines:
    /// stderr is a local pipe (journald, a terminal, the tests), and under --dry-run the plan lines
    /// are the output itself.
    /// </summary>
    internal static LoggerConfiguration WriteToStderr(LoggerConfiguration configuration, LogFormat format, Stream output, int queueCapacity) =>
        WriteToStderr(configuration, format, output, queueCapacity, out _);

    /// <inheritdoc cref="WriteToStderr(LoggerConfiguration, LogFormat, Stream, int)"/>
    internal static LoggerConfiguration WriteToStderr(LoggerConfiguration configuration, LogFormat format, Stream output, int queueCapacity, out StderrLogSink sink)
    {
        // Kept as the object, not its text, until the writer thread renders the line: the plan's text is
        // built there, off the event path, and in the text format written straight into the writer's buffer.
        configuration = configuration.Destructure.AsScalar<PlanText>();
        sink = new StderrLogSink(new StderrLineFormatter(format), output, queueCapacity);
        return configuration.WriteTo.Sink(sink);
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
