using Serilog;
using Serilog.Events;

namespace KvmUdevAgent.Core.Audit;

/// <summary>Registers <see cref="SyslogLogEventSink"/> with Serilog.</summary>
internal static class SyslogLoggerConfigurationExtensions
{
    /// <summary>
    /// Adds the syslog sink for <paramref name="settings"/>; does nothing when audit syslog is <c>off</c>.
    /// Serilog disposes the sink (flushing for at most <paramref name="drainTimeout"/>, by default
    /// <see cref="SyslogQueue.DefaultDrainTimeout"/>) when the logger is disposed.
    /// </summary>
    public static LoggerConfiguration WriteToSyslog(this LoggerConfiguration configuration, AuditSettings settings, LogEventLevel restrictedToMinimumLevel = LogEventLevel.Verbose, TimeSpan? drainTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Enabled
            ? configuration.WriteTo.Sink(SyslogLogEventSink.Create(settings, drainTimeout: drainTimeout), restrictedToMinimumLevel)
            : configuration;
    }
}
