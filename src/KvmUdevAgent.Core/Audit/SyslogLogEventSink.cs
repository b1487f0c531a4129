using System.Globalization;
using Serilog.Core;
using Serilog.Events;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// Serilog sink for the diagnostic log (not the audit trail: style item 21) as RFC 5424 through
/// the same formatter and transports. Each event becomes one message: severity from the level,
/// MSGID from the <c>EventId</c> name when the event has one (Microsoft.Extensions.Logging),
/// the rendered message as MSG, and the properties as parameters of a <c>[log@PEN ...]</c>
/// element (scalars as their raw text, others rendered; the exception, with its stack, as
/// <c>exception</c>). Uses its own queue, so log volume never crowds out audit records.
/// </summary>
internal sealed class SyslogLogEventSink : ILogEventSink, IDisposable, IAsyncDisposable
{
    /// <summary>SD-ID name of the properties element.</summary>
    public const string SdName = "log";

    private readonly SyslogQueue _queue;

    public SyslogLogEventSink(SyslogQueue queue)
    {
        _queue = queue;
    }

    public static SyslogLogEventSink Create(AuditSettings settings, int capacity = SyslogQueue.DefaultCapacity, TimeSpan? drainTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.Enabled)
        {
            throw new ArgumentException("syslog is off", nameof(settings));
        }

        return new SyslogLogEventSink(new SyslogQueue(SyslogTransports.Create(settings.Endpoint), settings.CreateFormatter(), settings.Endpoint.ToString(), capacity, drainTimeout: drainTimeout));
    }

    public SyslogQueueStatus Status => _queue.Status;

    public void Emit(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        _queue.Enqueue(ToMessage(logEvent));
    }

    public Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => _queue.FlushAsync(timeout, cancellationToken);

    internal static SyslogMessage ToMessage(LogEvent logEvent)
    {
        var fields = new List<KeyValuePair<string, string>>(logEvent.Properties.Count + 1);
        string? msgId = null;
        foreach (var (name, value) in logEvent.Properties)
        {
            if (name == "EventId" && value is StructureValue eventId)
            {
                foreach (LogEventProperty p in eventId.Properties)
                {
                    if (p.Name == "Name" && p.Value is ScalarValue { Value: string eventName })
                    {
                        msgId = eventName;
                    }
                }
            }

            fields.Add(new(name, Render(value)));
        }

        if (logEvent.Exception is not null)
        {
            fields.Add(new("exception", logEvent.Exception.ToString()));
        }

        return new SyslogMessage
        {
            Severity = logEvent.Level switch
            {
                LogEventLevel.Verbose or LogEventLevel.Debug => SyslogSeverity.Debug,
                LogEventLevel.Information => SyslogSeverity.Informational,
                LogEventLevel.Warning => SyslogSeverity.Warning,
                LogEventLevel.Error => SyslogSeverity.Error,
                _ => SyslogSeverity.Critical,
            },
            Timestamp = logEvent.Timestamp,
            MsgId = msgId,
            Elements = fields.Count == 0 ? [] : [new SdElement(SdName, fields)],
            Text = logEvent.RenderMessage(CultureInfo.InvariantCulture),
        };
    }

    private static string Render(LogEventPropertyValue value) => value switch
    {
        ScalarValue { Value: null } => "",
        ScalarValue { Value: string s } => s,
        ScalarValue { Value: IFormattable f } => f.ToString(null, CultureInfo.InvariantCulture),
        ScalarValue { Value: var v } => v.ToString() ?? "",
        _ => value.ToString(null, CultureInfo.InvariantCulture),
    };

    public void Dispose() => _queue.Dispose();

    public ValueTask DisposeAsync() => _queue.DisposeAsync();
}
